/**
 * Fast copies for the wasm backend's Concat and Slice (and SplitV, which slices).
 * tfjs-backend-wasm 4.22 implements both in JS with one `TypedArray.set(subarray)` per contiguous
 * run; when the run is a few elements (concat/split along a short innermost axis, e.g. RoPE's
 * interleaved pairs: runs of 1), that is one call per element; and its Slice first copies the
 * whole input out of the wasm heap (readSync), once per slice of a split. Profiled on a DiT^DH
 * training step (demo size, 1 thread): SplitV + Concat took 30 % of the step's kernel time. Here,
 * slices read views of the heap, and short runs are copied element by element in a plain loop.
 * Values are only moved (no arithmetic), so outputs stay bit-identical.
 */
import { tf } from './tf.js';

interface TensorInfo { dataId: object; shape: number[]; dtype: string }
interface WasmBackend {
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  makeOutput(shape: number[], dtype: string): TensorInfo;
}
type KernelFunc = (args: { inputs: Record<string, unknown>; backend: unknown; attrs: Record<string, unknown> }) => unknown;

/** Runs shorter than this many elements are copied in a loop instead of `set`. */
const SHORT_RUN = 32;

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

/** Concat along `axis`: out[b, :] = [in_0[b, :], in_1[b, :], …] with b over the dims before axis. */
function concatFast(backend: WasmBackend, inputs: TensorInfo[], axis: number): TensorInfo {
  const outShape = inputs[0].shape.slice();
  outShape[axis] = inputs.reduce((s, t) => s + t.shape[axis], 0);
  const out = backend.makeOutput(outShape, inputs[0].dtype);
  const outVals = backend.typedArrayFromHeap(out);
  const outer = size(inputs[0].shape.slice(0, axis));
  const inner = inputs.map((t) => size(t.shape.slice(axis)));
  const total = inner.reduce((a, b) => a + b, 0);
  const inVals = inputs.map((t) => backend.typedArrayFromHeap(t));
  let col = 0;
  for (let i = 0; i < inputs.length; i++) {
    const n = inner[i], src = inVals[i];
    if (n === 1) {
      for (let b = 0; b < outer; b++) outVals[b * total + col] = src[b];
    } else {
      for (let b = 0; b < outer; b++) {
        const o = b * total + col, s = b * n;
        for (let j = 0; j < n; j++) outVals[o + j] = src[s + j];
      }
    }
    col += n;
  }
  return out;
}

/** dst[o, o + n) = src[s, s + n): a loop for short runs, `set` on a view for long ones. */
function copyRun(dst: ArrayLike<number> & { set(a: ArrayLike<number>, o: number): void; [i: number]: number }, o: number, src: Float32Array | Int32Array | Uint8Array, s: number, n: number): void {
  if (n < SHORT_RUN) for (let j = 0; j < n; j++) dst[o + j] = src[s + j];
  else dst.set(src.subarray(s, s + n), o);
}

/**
 * Slice [begin, begin + size) of x on views of the wasm heap (wasm's own Slice first copies the
 * whole input out of the heap with readSync, for every slice of a split).
 */
function sliceViews(backend: WasmBackend, x: TensorInfo, begin: number[], sz: number[]): TensorInfo {
  const out = backend.makeOutput(sz, x.dtype);
  const outVals = backend.typedArrayFromHeap(out);
  const xVals = backend.typedArrayFromHeap(x);
  const rank = x.shape.length;
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1] * x.shape[d + 1];
  if (tf.slice_util.isSliceContinous(x.shape, begin, sz)) {
    const off = begin.reduce((acc, b, d) => acc + b * strides[d], 0);
    outVals.set(xVals.subarray(off, off + size(sz)));
    return out;
  }
  const cut = x.shape.map((d, i) => begin[i] !== 0 || sz[i] !== d);
  if (cut.filter(Boolean).length === 1) {
    // one sliced axis a (a split): rows of the dims before a, each a contiguous chunk
    const a = cut.indexOf(true);
    const inner = strides[a];
    const outer = size(x.shape.slice(0, a));
    const chunk = sz[a] * inner, stride = x.shape[a] * inner, off = begin[a] * inner;
    if (chunk === 1) for (let r = 0; r < outer; r++) outVals[r] = xVals[r * stride + off];
    else for (let r = 0; r < outer; r++) copyRun(outVals, r * chunk, xVals, r * stride + off, chunk);
    return out;
  }
  // general: an index odometer over every dim but the last, one run of sz[last] per position
  const run = sz[rank - 1];
  const rows = size(sz.slice(0, rank - 1));
  const idx = new Array<number>(rank - 1).fill(0);
  let o = 0;
  for (let r = 0; r < rows; r++) {
    let s = begin[rank - 1];
    for (let d = 0; d < rank - 1; d++) s += (begin[d] + idx[d]) * strides[d];
    copyRun(outVals, o, xVals, s, run);
    o += run;
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d] < sz[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Re-register wasm's Concat, Slice and SplitV with the short-run paths (long runs and strings go to the originals). */
export function registerFastCopies(): void {
  const concat = tf.getKernel('Concat', 'wasm');
  const slice = tf.getKernel('Slice', 'wasm');
  const splitV = tf.getKernel('SplitV', 'wasm');
  if (concat == null || slice == null || splitV == null) return;
  const concatOrig = concat.kernelFunc as unknown as KernelFunc;
  const sliceOrig = slice.kernelFunc as unknown as KernelFunc;
  tf.unregisterKernel('Concat', 'wasm');
  tf.registerKernel({
    ...concat,
    kernelFunc: ((args: { inputs: TensorInfo[]; backend: WasmBackend; attrs: { axis: number | number[] } }) => {
      const all = args.inputs;
      const inputs = all.filter((t) => size(t.shape) > 0);
      if (inputs.length < 2 || inputs[0].dtype === 'string') return concatOrig(args as never);
      const axis = tf.util.parseAxisParam(args.attrs.axis, inputs[0].shape)[0];
      const longest = Math.max(...inputs.map((t) => size(t.shape.slice(axis))));
      if (longest >= SHORT_RUN || size(inputs[0].shape.slice(0, axis)) === 1) return concatOrig(args as never);
      tf.backend_util.assertParamsConsistent(all.map((t) => t.shape), axis);
      return concatFast(args.backend, inputs, axis);
    }) as unknown as tf.KernelFunc,
  });
  type SliceArgs = { inputs: { x: TensorInfo }; backend: WasmBackend; attrs: { begin: number | number[]; size: number | number[] } };
  const sliceKernel = (args: SliceArgs): unknown => {
    const { x } = args.inputs;
    if (x.dtype === 'string' || x.shape.length === 0) return sliceOrig(args as never);
    const [begin, sz] = tf.slice_util.parseSliceParams(x as unknown as tf.TensorInfo, args.attrs.begin, args.attrs.size);
    if (size(sz) === 0) return sliceOrig(args as never);
    return sliceViews(args.backend, x, begin, sz);
  };
  tf.unregisterKernel('Slice', 'wasm');
  tf.registerKernel({ ...slice, kernelFunc: sliceKernel as unknown as tf.KernelFunc });
  // wasm's SplitV calls its own slice function directly, not the registry: route it through ours
  tf.unregisterKernel('SplitV', 'wasm');
  tf.registerKernel({
    ...splitV,
    kernelFunc: ((args: { inputs: { x: TensorInfo }; backend: WasmBackend; attrs: { numOrSizeSplits: number | number[]; axis: number | number[] } }) => {
      const { x } = args.inputs;
      const axis = tf.util.parseAxisParam(args.attrs.axis, x.shape)[0];
      const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, args.attrs.numOrSizeSplits, axis);
      const begin = new Array<number>(x.shape.length).fill(0);
      return sizes.map((s) => {
        const sz = x.shape.slice();
        sz[axis] = s;
        const part = sliceKernel({ inputs: { x }, backend: args.backend, attrs: { begin: begin.slice(), size: sz } });
        begin[axis] += s;
        return part;
      });
    }) as unknown as tf.KernelFunc,
  });
}
