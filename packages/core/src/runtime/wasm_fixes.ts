/**
 * Kernel fixes for the tfjs wasm backend (measured on a 2-core AVX-512 machine):
 * - BatchMatMul with a transpose flag runs 10–25× slower than plain, so transposes are made
 *   explicit with the (fast) Transpose kernel before calling the plain BatchMatMul;
 * - BatchMatMul with a batch > 1 falls into a scalar C++ loop (≈1 GFLOP/s) while batch 1 goes to
 *   XNNPACK (≈15–25 GFLOP/s): batched products run as one batch-1 call per matrix, on zero-copy
 *   views of the operands and of the output (attention becomes 5–10× faster);
 * - (depthwise) conv with pad 'same' is wrong when a stride exceeds the filter size (XNNPACK's own
 *   SAME rule, e.g. 2-wide filter, stride 3): 'same' is turned into the equivalent explicit padding;
 * - the gradient kernels wasm lacks (conv filter, depthwise conv, segment sum) are added as
 *   composites of its fast kernels (wasm_grad_kernels.ts);
 * - the remaining missing numeric kernels (Einsum, Ragged*) run on the cpu backend (cpu_fallback.ts);
 * - Concat / Slice / SplitV copy short contiguous runs in a loop instead of one `set` call per run
 *   (wasm_copy_kernels.ts; RoPE's pair split/concat was 30 % of a DiT^DH training step).
 */
import { tf } from './tf.js';
import { registerGradKernels } from './wasm_grad_kernels.js';
import { registerCpuFallback } from './cpu_fallback.js';
import { registerFastCopies } from './wasm_copy_kernels.js';
import { registerOrtMatMul } from './ort_matmul.js';
import { resolveEngine } from '../engine/engine.js';

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
  // RAEV2_WASM_FAST_COPIES=0 keeps wasm's own copies: the benchmark's pre-#13 baseline
  if (process.env.RAEV2_WASM_FAST_COPIES !== '0') registerFastCopies();
  for (const k of CPU_FALLBACKS) registerCpuFallback(k, 'wasm');
  // large products to onnxruntime's GEMM with the ort engine (the default; runtime/ort_matmul.ts)
  registerOrtMatMul({ enabled: resolveEngine() === 'ort' });
  applied = true;
}

interface WasmData { id: number; memoryOffset: number }
interface WasmBackend {
  dataIdMap: { get(id: object): WasmData | undefined; delete(id: object): boolean };
  makeOutput(shape: number[], dtype: string, memoryOffset?: number): TensorInfo;
  disposeData(id: object): void;
  wasm: { cwrap(name: string, ret: null, args: string[]): (...a: unknown[]) => void; tfjs: { disposeData(id: number): void } };
}

/** Re-register wasm's BatchMatMul: explicit transposes, and batched products as batch-1 XNNPACK calls. */
function fixBatchMatMul(): void {
  const bmm = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (bmm == null || transpose == null) return;
  const bmmFunc = bmm.kernelFunc as unknown as KernelFunc;
  const transposeFunc = transpose.kernelFunc as unknown as KernelFunc;
  let wasmBmm: ((...a: unknown[]) => void) | null = null;
  const swapLast = (backend: unknown, x: TensorInfo): TensorInfo => {
    const r = x.shape.length;
    const perm = [...Array(r).keys()];
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return transposeFunc({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
  };
  const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

  /** a [..., M, K] × b [..., K, N] with flat batch sizes equal or 1; null when the broadcast is more general. */
  const batched = (backend: WasmBackend, a: TensorInfo, b: TensorInfo): TensorInfo | null => {
    const ra = a.shape.length, rb = b.shape.length;
    const [m, k] = a.shape.slice(-2), n = b.shape[rb - 1];
    const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const batch = size(outer), batchA = size(a.shape.slice(0, ra - 2)), batchB = size(b.shape.slice(0, rb - 2));
    if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return null;
    if (batchA === batch && batchB === batch && a.shape.slice(0, ra - 2).join() !== b.shape.slice(0, rb - 2).join()) return null;
    wasmBmm ??= backend.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
    const out = backend.makeOutput([...outer, m, n], 'float32');
    const base = { a: backend.dataIdMap.get(a.dataId)!.memoryOffset, b: backend.dataIdMap.get(b.dataId)!.memoryOffset, o: backend.dataIdMap.get(out.dataId)!.memoryOffset };
    const aShape = new Uint8Array(new Int32Array([1, m, k]).buffer), bShape = new Uint8Array(new Int32Array([1, k, n]).buffer);
    // views: registered without allocation, released without free (they alias the operands' memory)
    const view = (offset: number, shape: number[]) => backend.makeOutput(shape, 'float32', offset);
    const release = (v: TensorInfo) => {
      const d = backend.dataIdMap.get(v.dataId)!;
      backend.wasm.tfjs.disposeData(d.id);
      backend.dataIdMap.delete(v.dataId);
    };
    for (let i = 0; i < batch; i++) {
      const va = view(base.a + 4 * (batchA === 1 ? 0 : i) * m * k, [1, m, k]);
      const vb = view(base.b + 4 * (batchB === 1 ? 0 : i) * k * n, [1, k, n]);
      const vo = view(base.o + 4 * i * m * n, [1, m, n]);
      const id = (v: TensorInfo) => backend.dataIdMap.get(v.dataId)!.id;
      wasmBmm(id(va), aShape, 3, id(vb), bShape, 3, false, false, id(vo));
      release(va);
      release(vb);
      release(vo);
    }
    return out;
  };

  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    setupFunc: bmm.setupFunc,
    disposeFunc: bmm.disposeFunc,
    kernelFunc: (({ inputs, backend, attrs }: { inputs: { a: TensorInfo; b: TensorInfo }; backend: WasmBackend; attrs: { transposeA: boolean; transposeB: boolean } }) => {
      const { transposeA, transposeB } = attrs;
      const a = transposeA ? swapLast(backend, inputs.a) : inputs.a;
      const b = transposeB ? swapLast(backend, inputs.b) : inputs.b;
      const plain = { ...attrs, transposeA: false, transposeB: false };
      const isBatched = size(a.shape.slice(0, -2)) > 1 || size(b.shape.slice(0, -2)) > 1;
      const out = (isBatched && a.dtype === 'float32' && b.dtype === 'float32' ? batched(backend, a, b) : null) ?? bmmFunc({ inputs: { a, b }, backend, attrs: plain });
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
