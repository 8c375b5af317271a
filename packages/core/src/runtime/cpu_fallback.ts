/**
 * Generic kernel fallback: run the cpu backend's kernel on a copy of the inputs and write the
 * result back to the calling backend. Correct for any numeric kernel, but pays two copies and
 * the cpu kernel's speed, so it is for kernels that are rare or have no cheap composite form.
 */
import { tf } from './tf.js';

type Info = tf.TensorInfo;
type Inputs = Record<string, Info> | Info[];

/** The subset of a tfjs backend that the fallback uses (readSync / write / disposeData). */
interface DataBackend {
  readSync(dataId: object): tf.BackendValues;
  write(values: tf.BackendValues, shape: number[], dtype: tf.DataType): object;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** Run the cpu kernel `kernelName` for a call made on another backend; returns that backend's tensor infos. */
export function runKernelOnCpu(kernelName: string, inputs: Inputs, backend: unknown, attrs: unknown): Info | Info[] {
  const kernel = tf.getKernel(kernelName, 'cpu');
  if (kernel == null) throw new Error(`cpu fallback: the cpu backend has no kernel ${kernelName}`);
  const cpu = tf.engine().findBackend('cpu') as unknown as DataBackend | null;
  if (cpu == null) throw new Error(`cpu fallback for ${kernelName}: the cpu backend could not be initialised`);
  const src = backend as DataBackend;
  const created: object[] = [];
  const toCpu = (info: Info): Info => {
    if (info.dtype === 'complex64' || info.dtype === 'string') throw new Error(`cpu fallback for ${kernelName}: ${info.dtype} inputs are not supported`);
    const dataId = cpu.write(src.readSync(info.dataId), info.shape, info.dtype);
    created.push(dataId);
    return { dataId, shape: info.shape, dtype: info.dtype };
  };
  const cpuInputs = Array.isArray(inputs) ? inputs.map(toCpu) : Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, toCpu(v)]));
  try {
    const out = kernel.kernelFunc({ inputs: cpuInputs as tf.NamedTensorInfoMap, backend: cpu as unknown as tf.KernelBackend, attrs: attrs as tf.NamedAttrMap });
    const outs = (Array.isArray(out) ? out : [out]) as Info[];
    const back = outs.map((o) => {
      created.push(o.dataId);
      return { dataId: src.write(cpu.readSync(o.dataId), o.shape, o.dtype), shape: o.shape, dtype: o.dtype };
    });
    return Array.isArray(out) ? back : back[0];
  } finally {
    for (const id of created) cpu.disposeData(id, true);
  }
}

/** Register `kernelName` on `backendName` (default wasm) as a cpu fallback, unless that backend already has it. */
export function registerCpuFallback(kernelName: string, backendName = 'wasm'): boolean {
  if (tf.getKernel(kernelName, backendName) != null || tf.getKernel(kernelName, 'cpu') == null) return false;
  tf.registerKernel({
    kernelName,
    backendName,
    kernelFunc: (({ inputs, backend, attrs }: { inputs: Inputs; backend: unknown; attrs: unknown }) =>
      runKernelOnCpu(kernelName, inputs, backend, attrs)) as unknown as tf.KernelFunc,
  });
  return true;
}
