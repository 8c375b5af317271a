/**
 * Large matrix products of the wasm backend through onnxruntime's MLAS GEMM, forward and backward.
 *
 * Training runs on tfjs (autograd, optimisers); its BatchMatMul kernel on wasm is XNNPACK at
 * 3–30 GFLOP/s on the DiT^DH's shapes, where onnxruntime's MLAS does 17–130 on the same shapes and
 * threads (2-core EPYC); a DiT^DH training step runs 1.5–2.4× faster with the products moved
 * (`npm run bench -- --only scaling`: products on xnnpack vs onnxruntime). BatchMatMul is also
 * every matmul of a gradient (tfjs differentiates a product into two products), so re-registering
 * this one kernel moves all of a step's GEMMs: a float32 product of at least
 * `RAEV2_ORT_MATMUL_MIN_FLOPS` (default 2^20, where the two break even) runs as one onnxruntime
 * MatMul; the rest stay on XNNPACK.
 *
 * The route is a pure function of the shape, never of a timing probe, so a run and its resume pick
 * the same kernels and give the same numbers. Results do not depend on the thread count either
 * (tests/core/ort_matmul.test.ts), which takes two rules: MLAS splits a GEMM over threads along M,
 * or along N when N > M, and its K blocking follows the width of each N slice, so a split N sums in
 * another order; a product with N > M is therefore computed transposed, Yᵀ = op(B)ᵀ·op(A)ᵀ, where
 * the split is along rows. And matrix-vector products (M or N = 1) take MLAS's GEMV path, which
 * splits the reduction; they stay on XNNPACK. Measured: 0 differing bits over 1–4 threads on 4,836
 * shapes (batched, broadcast, every transpose), against 96 of 1,308 without the transposed form.
 * On by default with the ort engine (`RAEV2_ENGINE`, engine/engine.ts); `RAEV2_ENGINE=tfjs` keeps
 * every product on XNNPACK. onnxruntime's threads follow the wasm backend's (`RAEV2_WASM_THREADS`),
 * so one-thread processes sharing the cores (the demo's side-by-side trainings) stay one thread.
 *
 * Data: the operands are read from the wasm heap in place (copied once when the heap is a
 * SharedArrayBuffer, which onnxruntime-node refuses), the product is written into a fresh wasm
 * output. One graph per (ranks, transposes) with symbolic dims; onnxruntime fuses the transposes
 * into its GEMM (FusedMatMul), so a transposed operand is never materialised.
 */
import { z } from 'zod';
import { tf } from './tf.js';
import { wasmThreadsInUse } from './wasm_threads.js';
import { OnnxGraphBuilder } from '../onnx/graph.js';
import { SyncOrtSession, ortTensor } from '../onnx/sync_session.js';

interface TensorInfo { dataId: object; shape: number[]; dtype: string }
interface WasmBackend {
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  makeOutput(shape: number[], dtype: string): TensorInfo;
}
interface MatMulArgs { inputs: { a: TensorInfo; b: TensorInfo }; backend: WasmBackend; attrs: { transposeA: boolean; transposeB: boolean } }
type KernelFunc = (args: MatMulArgs) => TensorInfo;

/** Products below this many FLOPs stay on XNNPACK (onnxruntime's per-call cost, ~20 µs, dominates). */
export const DEFAULT_ORT_MATMUL_MIN_FLOPS = 2 ** 20;

const MinFlops = z.coerce.number().int().min(0);

function minFlops(): number {
  const raw = process.env.RAEV2_ORT_MATMUL_MIN_FLOPS;
  if (raw == null || raw.trim() === '') return DEFAULT_ORT_MATMUL_MIN_FLOPS;
  const parsed = MinFlops.safeParse(raw);
  if (!parsed.success) throw new Error(`RAEV2_ORT_MATMUL_MIN_FLOPS="${raw}" must be a non-negative integer`);
  return parsed.data;
}

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

/** The product's FLOPs and output shape (tfjs semantics: broadcast batch dims, optional transposes). */
export function matMulGeometry(a: number[], b: number[], transposeA: boolean, transposeB: boolean): { flops: number; shape: number[]; m: number; k: number; n: number } {
  const ra = a.length, rb = b.length;
  const m = transposeA ? a[ra - 1] : a[ra - 2];
  const k = transposeA ? a[ra - 2] : a[ra - 1];
  const n = transposeB ? b[rb - 2] : b[rb - 1];
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.slice(0, -2), b.slice(0, -2));
  return { flops: 2 * size(outer) * m * n * k, shape: [...outer, m, n], m, k, n };
}

/**
 * `Y = op(A)·op(B)` with symbolic dims, op = swap of the last two axes where asked; `transposed`:
 * computed as `Y = (op(B)ᵀ·op(A)ᵀ)ᵀ` (see above: MLAS then splits along rows).
 */
function matMulGraph(ra: number, rb: number, transposeA: boolean, transposeB: boolean, transposed: boolean): Uint8Array {
  const g = new OnnxGraphBuilder('batch_matmul');
  const swap = (r: number) => {
    const p = [...Array(r).keys()];
    [p[r - 2], p[r - 1]] = [p[r - 1], p[r - 2]];
    return p;
  };
  let a = g.input('A', Array.from({ length: ra }, (_, i) => `a${i}`));
  let b = g.input('B', Array.from({ length: rb }, (_, i) => `b${i}`));
  if (transposeA !== transposed) a = g.node('Transpose', [a], { perm: swap(ra) });
  if (transposeB !== transposed) b = g.node('Transpose', [b], { perm: swap(rb) });
  if (!transposed) g.output(g.node('MatMul', [a, b], {}, 'Y'));
  else g.output(g.node('Transpose', [g.node('MatMul', [b, a])], { perm: swap(Math.max(ra, rb)) }, 'Y'));
  return g.build();
}

const sessions = new Map<string, SyncOrtSession>();

function session(ra: number, rb: number, transposeA: boolean, transposeB: boolean, transposed: boolean): SyncOrtSession {
  const key = `${ra},${rb},${transposeA},${transposeB},${transposed}`;
  let s = sessions.get(key);
  if (s == null) {
    const env = process.env.RAEV2_ORT_THREADS;
    const threads = env != null && env.trim() !== '' ? undefined : wasmThreadsInUse();
    // no spinning: between products the wasm backend's own threads need the cores
    s = SyncOrtSession.create(matMulGraph(ra, rb, transposeA, transposeB, transposed), { threads, spinning: false });
    sessions.set(key, s);
  }
  return s;
}

/** onnxruntime-node refuses typed arrays over a SharedArrayBuffer (the threaded wasm heap): copy those. */
const ownBuffer = (v: Float32Array): Float32Array => (v.buffer instanceof SharedArrayBuffer ? new Float32Array(v) : v);

let registered = false;
let enabled = false;

/**
 * Re-register wasm's BatchMatMul so that float32 products of at least `minFlops` run on
 * onnxruntime while the route is on (idempotent; a no-op before the wasm backend is loaded).
 * `enabled` sets the route (default on; runtime init passes whether the engine is ort).
 */
export function registerOrtMatMul(opts: { minFlops?: number; enabled?: boolean } = {}): void {
  const k = tf.getKernel('BatchMatMul', 'wasm');
  if (k == null) return;
  enabled = opts.enabled ?? true;
  if (registered) return;
  const threshold = opts.minFlops ?? minFlops();
  const inner = k.kernelFunc as unknown as KernelFunc;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    ...k,
    kernelFunc: ((args: MatMulArgs) => {
      const { inputs: { a, b }, backend, attrs: { transposeA, transposeB } } = args;
      if (!enabled || a.dtype !== 'float32' || b.dtype !== 'float32') return inner(args);
      const { flops, shape, m, n } = matMulGeometry(a.shape, b.shape, transposeA, transposeB);
      if (flops === 0 || flops < threshold || Math.min(m, n) < 2) return inner(args);
      const s = session(a.shape.length, b.shape.length, transposeA, transposeB, n > m);
      const y = s.run({
        A: ortTensor('float32', ownBuffer(backend.typedArrayFromHeap(a)), a.shape),
        B: ortTensor('float32', ownBuffer(backend.typedArrayFromHeap(b)), b.shape),
      }).get('Y')!;
      // the output is allocated after the run: an allocation may grow the heap and detach views
      const out = backend.makeOutput(shape, 'float32');
      backend.typedArrayFromHeap(out).set(y.data);
      return out;
    }) as unknown as tf.KernelFunc,
  });
  registered = true;
}

/** Whether large products currently run on onnxruntime. */
export function ortMatMulEnabled(): boolean {
  return registered && enabled;
}

/**
 * Turn the route on or off (after runtime init on wasm; otherwise a no-op). For measurements
 * that compare both paths in one process; a training run keeps one setting throughout.
 */
export function setOrtMatMul(on: boolean): void {
  if (registered) enabled = on;
}
