/** Global gradient-norm clipping with torch.nn.utils.clip_grad_norm_ semantics. */
import { tf, type Tensor } from '../runtime/tf.js';

/** ‖g‖₂ over all gradients together (one device→host read). */
export function globalGradNorm(grads: Map<string, Tensor>): number {
  if (grads.size === 0) return 0;
  const norm = tf.tidy(() => tf.addN([...grads.values()].map((g) => g.square().sum())).sqrt());
  const v = norm.dataSync()[0];
  norm.dispose();
  return v;
}

/**
 * Scale every gradient by min(1, maxNorm / (norm + 1e-6)) in place (the map's tensors are replaced
 * and the old ones disposed); returns the pre-clip global norm. A non-finite norm leaves grads unchanged.
 */
export function clipGradNorm(grads: Map<string, Tensor>, maxNorm: number): number {
  const norm = globalGradNorm(grads);
  const coef = maxNorm / (norm + 1e-6);
  if (Number.isFinite(norm) && coef < 1) {
    for (const [n, g] of grads) {
      grads.set(n, g.mul(coef));
      g.dispose();
    }
  }
  return norm;
}
