/**
 * The one tfjs entry point of the project. Every file imports tensors from here so that all
 * packages (and tfjs-layers models such as the nsfwjs encoders) share a single engine.
 */
import * as tf from '@tensorflow/tfjs';
export { tf };

/**
 * tfjs' cpu backend prints an "install our node backend" banner on its first write in Node. The
 * runtime picks tfjs-node when it is installed and logs the backend it chose (runtime/backend.ts),
 * so the banner is switched off for every cpu backend instance, including one created by a tensor
 * made before initRuntime().
 */
function silenceCpuBanner(): void {
  const registry = (tf.engine() as unknown as { registryFactory: Record<string, { factory: () => unknown; priority: number }> }).registryFactory;
  const cpu = registry.cpu;
  if (cpu == null || tf.engine().registry.cpu != null) return;
  const factory = cpu.factory;
  tf.removeBackend('cpu');
  tf.registerBackend('cpu', () => {
    const b = factory() as { firstUse?: boolean };
    b.firstUse = false;
    return b as tf.KernelBackend;
  }, cpu.priority);
}
silenceCpuBanner();
export type Tensor = tf.Tensor;
export type Variable = tf.Variable;
export type Rank = tf.Rank;
