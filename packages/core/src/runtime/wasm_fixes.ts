/**
 * Kernel fixes for the tfjs wasm backend (measured on this machine, see DESIGN.md):
 * - BatchMatMul with a transpose flag runs 10–25× slower than plain, so transposes are made
 *   explicit with the (fast) Transpose kernel before calling the plain BatchMatMul;
 * - (depthwise) conv with pad 'same' is wrong when a stride exceeds the filter size (XNNPACK's own
 *   SAME rule, e.g. 2-wide filter, stride 3): 'same' is turned into the equivalent explicit padding;
 * - the gradient kernels wasm lacks (conv filter, depthwise conv, segment sum) are added as
 *   composites of its fast kernels (wasm_grad_kernels.ts);
 * - the remaining missing numeric kernels (Einsum, Ragged*) run on the cpu backend (cpu_fallback.ts).
 */
import { tf } from './tf.js';
import { registerGradKernels } from './wasm_grad_kernels.js';
import { registerCpuFallback } from './cpu_fallback.js';

/** Kernels wasm lacks that have no cheap composite form: run on the cpu backend's copy of the data. */
const CPU_FALLBACKS = ['Einsum', 'RaggedGather', 'RaggedRange', 'RaggedTensorToTensor'];

type KernelFunc = (params: { inputs: Record<string, unknown>; backend: unknown; attrs?: Record<string, unknown> }) => unknown;
interface TensorInfo { dataId: object; shape: number[]; dtype: string }

let applied = false;

/** Patch the wasm backend's kernels (idempotent; a no-op until the wasm backend is loaded). */
export function applyWasmFixes(): void {
  if (applied || tf.getKernel('BatchMatMul', 'wasm') == null) return;
  fixBatchMatMul();
  for (const k of ['Conv2D', 'FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2D']) explicitSamePadding(k);
  registerGradKernels('wasm');
  for (const k of CPU_FALLBACKS) registerCpuFallback(k, 'wasm');
  applied = true;
}

/** Re-register wasm's BatchMatMul so that transposeA/transposeB become explicit transposes. */
function fixBatchMatMul(): void {
  const bmm = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (bmm == null || transpose == null) return;
  const bmmFunc = bmm.kernelFunc as unknown as KernelFunc;
  const transposeFunc = transpose.kernelFunc as unknown as KernelFunc;
  const swapLast = (backend: unknown, x: TensorInfo): TensorInfo => {
    const r = x.shape.length;
    const perm = [...Array(r).keys()];
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return transposeFunc({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
  };
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    setupFunc: bmm.setupFunc,
    disposeFunc: bmm.disposeFunc,
    kernelFunc: (({ inputs, backend, attrs }: { inputs: { a: TensorInfo; b: TensorInfo }; backend: { disposeData(id: object): void }; attrs: { transposeA: boolean; transposeB: boolean } }) => {
      const { transposeA, transposeB } = attrs;
      if (!transposeA && !transposeB) return bmmFunc({ inputs, backend, attrs });
      const a = transposeA ? swapLast(backend, inputs.a) : inputs.a;
      const b = transposeB ? swapLast(backend, inputs.b) : inputs.b;
      const out = bmmFunc({ inputs: { a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
      if (transposeA) backend.disposeData(a.dataId);
      if (transposeB) backend.disposeData(b.dataId);
      return out;
    }) as unknown as tf.KernelFunc,
  });
}

/** Re-register a wasm conv kernel so that pad 'same' reaches it as the equivalent explicit padding. */
function explicitSamePadding(kernelName: string): void {
  const k = tf.getKernel(kernelName, 'wasm');
  if (k == null) return;
  const depthwise = kernelName.includes('Depthwise');
  const run = k.kernelFunc as unknown as KernelFunc;
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({
    ...k,
    kernelFunc: ((args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: Record<string, unknown> }) => {
      const { attrs, inputs } = args;
      // (wasm convs are NHWC only: an NCHW call goes through unchanged to wasm's own error)
      if (attrs.pad !== 'same' || attrs.dataFormat === 'NCHW') return run(args);
      const info = tf.backend_util.computeConv2DInfo(inputs.x.shape as [number, number, number, number],
        inputs.filter.shape as [number, number, number, number], attrs.strides as [number, number],
        (attrs.dilations ?? 1) as [number, number], 'same', undefined, depthwise);
      const { top, bottom, left, right } = info.padInfo;
      const pad = [[0, 0], [top, bottom], [left, right], [0, 0]];
      return run({ ...args, attrs: { ...attrs, pad } });
    }) as unknown as tf.KernelFunc,
  });
}
