/**
 * Gradient kernels that the tfjs wasm backend lacks, written with the kernels it has (fast ones:
 * matmul, depthwise conv, strided slice), so that tf.grad flows through convolutions and gathers:
 * - Conv2DBackpropFilter: one matmul per filter tap, dyᵀ·x_tap (im2col without materialising it),
 *   or a single matmul when the taps do not overlap (stride = filter size: patch embedding);
 * - DepthwiseConv2dNativeBackpropInput: a depthwise conv of the stride-dilated, re-padded gradient
 *   with the spatially flipped filter;
 * - DepthwiseConv2dNativeBackpropFilter: per filter tap, Σ x_tap·dy over batch and positions;
 * - UnsortedSegmentSum (gather's gradient): one linear scatter-add pass over the data.
 */
import { tf, type Tensor } from './tf.js';

type Info = tf.TensorInfo;
type Attrs = Record<string, unknown>;
type Pair = [number, number];

/** Register a kernel whose body is ordinary tf ops on tensors (the engine accepts a Tensor as kernel output). */
function registerComposite(kernelName: string, backendName: string, body: (inputs: Record<string, Tensor>, attrs: Attrs) => Tensor): void {
  tf.registerKernel({
    kernelName,
    backendName,
    kernelFunc: (({ inputs, backend, attrs }: { inputs: Record<string, Info>; backend: { incRef(id: object): void }; attrs: Attrs }) => {
      const borrowed: Tensor[] = [];
      // Inputs arrive as Tensors from ops, or as bare TensorInfos when another kernel calls this one:
      // wrap those in a Tensor holding its own reference, so disposing the wrapper frees nothing of the caller's.
      const asTensor = (info: Info): Tensor => {
        if (info instanceof tf.Tensor) return info;
        backend.incRef(info.dataId);
        const t = tf.engine().makeTensorFromTensorInfo(info);
        borrowed.push(t);
        return t;
      };
      const ts = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, asTensor(v)]));
      try {
        return tf.tidy(() => body(ts, attrs));
      } finally {
        for (const t of borrowed) t.dispose();
      }
    }) as unknown as tf.KernelFunc,
  });
}

/** Pad (positive) or crop (negative) axis 1 and 2 of an NHWC tensor. */
function padOrCrop(x: Tensor, top: number, bottom: number, left: number, right: number): Tensor {
  const p = x.pad([[0, 0], [Math.max(top, 0), Math.max(bottom, 0)], [Math.max(left, 0), Math.max(right, 0)], [0, 0]]);
  const [b, h, w, c] = p.shape;
  const t0 = Math.max(-top, 0), l0 = Math.max(-left, 0);
  if (t0 === 0 && l0 === 0 && bottom >= 0 && right >= 0) return p;
  return p.slice([0, t0, l0, 0], [b, h - t0 - Math.max(-bottom, 0), w - l0 - Math.max(-right, 0), c]);
}

/** Rows kh·dh + i·sh, cols kw·dw + j·sw of padded x for one filter tap: [B, Ho, Wo, C]. */
function tap(xp: Tensor, kh: number, kw: number, ho: number, wo: number, s: Pair): Tensor {
  const [b, , , c] = xp.shape;
  if (s[0] === 1 && s[1] === 1) return xp.slice([0, kh, kw, 0], [b, ho, wo, c]);
  return tf.stridedSlice(xp, [0, kh, kw, 0], [b, kh + (ho - 1) * s[0] + 1, kw + (wo - 1) * s[1] + 1, c], [1, s[0], s[1], 1]);
}

/** Insert s−1 zeros between rows/cols: [B, H, W, C] → [B, (H−1)·sh+1, (W−1)·sw+1, C]. */
function dilateSpatial(x: Tensor, s: Pair): Tensor {
  if (s[0] === 1 && s[1] === 1) return x;
  const [b, h, w, c] = x.shape;
  return x
    .reshape([b, h, 1, w, 1, c])
    .pad([[0, 0], [0, 0], [0, s[0] - 1], [0, 0], [0, s[1] - 1], [0, 0]])
    .reshape([b, h * s[0], w * s[1], c])
    .slice([0, 0, 0, 0], [b, (h - 1) * s[0] + 1, (w - 1) * s[1] + 1, c]);
}

/** dW[kh,kw,ci,co] = Σ_{b,i,j} x_pad[b, i·sh+kh, j·sw+kw, ci] · dy[b,i,j,co]. */
function conv2DBackpropFilter({ x, dy }: Record<string, Tensor>, attrs: Attrs): Tensor {
  const nchw = attrs.dataFormat === 'NCHW';
  const x4 = nchw ? x.transpose([0, 2, 3, 1]) : x;
  const dy4 = nchw ? dy.transpose([0, 2, 3, 1]) : dy;
  const filterShape = attrs.filterShape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(x4.shape as [number, number, number, number], filterShape, attrs.strides as Pair,
    1, attrs.pad as 'same', attrs.dimRoundingMode as 'floor' | undefined);
  const { top, bottom, left, right } = info.padInfo;
  const xp = padOrCrop(x4, top, bottom, left, right);
  const [fh, fw, ci, co] = filterShape;
  const m = info.batchSize * info.outHeight * info.outWidth;
  const dyT = dy4.reshape([m, co]).transpose(); // [co, M], transposed once for all taps
  const [sh, sw] = [info.strideHeight, info.strideWidth];
  if (sh === fh && sw === fw) {
    // non-overlapping taps (patch embedding): the im2col matrix is a reshape + transpose of x
    const cols = xp.slice([0, 0, 0, 0], [info.batchSize, info.outHeight * fh, info.outWidth * fw, ci])
      .reshape([info.batchSize, info.outHeight, fh, info.outWidth, fw, ci]).transpose([0, 1, 3, 2, 4, 5]).reshape([m, fh * fw * ci]);
    return tf.matMul(dyT, cols).transpose().reshape(filterShape);
  }
  const taps: Tensor[] = [];
  for (let kh = 0; kh < fh; kh++) {
    for (let kw = 0; kw < fw; kw++) {
      const xs = tap(xp, kh, kw, info.outHeight, info.outWidth, [sh, sw]);
      taps.push(tf.matMul(dyT, xs.reshape([m, ci]))); // [co, ci]
    }
  }
  return tf.stack(taps).transpose([0, 2, 1]).reshape(filterShape);
}

/** dx = depthwise conv(valid) of the stride-dilated dy, re-padded, with the flipped (and dilated) filter; Σ over the multiplier. */
function depthwiseBackpropInput({ dy, filter }: Record<string, Tensor>, attrs: Attrs): Tensor {
  const inputShape = attrs.inputShape as [number, number, number, number];
  const [fh, fw, c, mult] = filter.shape;
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], attrs.strides as Pair,
    attrs.dilations as Pair, attrs.pad as 'same', attrs.dimRoundingMode as 'floor' | undefined, true);
  const [dh, dw] = [info.dilationHeight, info.dilationWidth];
  const { top, left } = info.padInfo;
  const efh = (fh - 1) * dh + 1, efw = (fw - 1) * dw + 1;
  const dyd = dilateSpatial(dy, [info.strideHeight, info.strideWidth]);
  const [, hd, wd] = dyd.shape;
  const padTop = efh - 1 - top, padLeft = efw - 1 - left;
  const dyp = padOrCrop(dyd, padTop, inputShape[1] + efh - 1 - padTop - hd, padLeft, inputShape[2] + efw - 1 - padLeft - wd);
  // flipped filter, one output channel per (c, m) pair: [fh, fw, C·m, 1]
  const flipped = tf.reverse(filter, [0, 1]).reshape([fh, fw, c * mult, 1]) as tf.Tensor4D;
  const out = tf.depthwiseConv2d(dyp as tf.Tensor4D, flipped, 1, 'valid', 'NHWC', [dh, dw]);
  return mult === 1 ? out : out.reshape([inputShape[0], inputShape[1], inputShape[2], c, mult]).sum(-1);
}

/** dW[kh,kw,c,m] = Σ_{b,i,j} x_pad[b, i·sh+kh·dh, j·sw+kw·dw, c] · dy[b,i,j,c·M+m]. */
function depthwiseBackpropFilter({ x, dy }: Record<string, Tensor>, attrs: Attrs): Tensor {
  const filterShape = attrs.filterShape as [number, number, number, number];
  const [fh, fw, c, mult] = filterShape;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, attrs.strides as Pair,
    attrs.dilations as Pair, attrs.pad as 'same', attrs.dimRoundingMode as 'floor' | undefined, true);
  const { top, bottom, left, right } = info.padInfo;
  const xp = padOrCrop(x, top, bottom, left, right);
  const { batchSize: b, outHeight: ho, outWidth: wo } = info;
  const dy5 = dy.reshape([b, ho, wo, c, mult]);
  const taps: Tensor[] = [];
  for (let kh = 0; kh < fh; kh++) {
    for (let kw = 0; kw < fw; kw++) {
      const xs = tap(xp, kh * info.dilationHeight, kw * info.dilationWidth, ho, wo, [info.strideHeight, info.strideWidth]);
      taps.push(xs.expandDims(4).mul(dy5).sum([0, 1, 2])); // [C, M]
    }
  }
  return tf.stack(taps).reshape(filterShape);
}

/** out[s, ...] = Σ_{i: ids[i] = s} x[i, ...]; ids outside [0, numSegments) are dropped (as TF does for negatives). */
function unsortedSegmentSum({ inputs, backend, attrs }: { inputs: Record<string, Info>; backend: unknown; attrs: Attrs }): Info {
  const { x, segmentIds } = inputs;
  const numSegments = attrs.numSegments as number;
  const be = backend as { readSync(id: object): tf.BackendValues; write(v: tf.BackendValues, shape: number[], dtype: tf.DataType): object };
  const xv = be.readSync(x.dataId) as Float32Array | Int32Array;
  const ids = be.readSync(segmentIds.dataId) as Int32Array | Float32Array;
  const inner = ids.length === 0 ? 0 : xv.length / ids.length;
  const shape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (!(s >= 0 && s < numSegments)) continue;
    const src = i * inner, dst = s * inner;
    for (let k = 0; k < inner; k++) out[dst + k] += xv[src + k];
  }
  return { dataId: be.write(out, shape, x.dtype), shape, dtype: x.dtype };
}

/** Register the composite gradient kernels on `backendName` where it lacks them; returns the names registered. */
export function registerGradKernels(backendName = 'wasm'): string[] {
  const done: string[] = [];
  const add = (name: string, register: () => void) => {
    if (tf.getKernel(name, backendName) != null) return;
    register();
    done.push(name);
  };
  add('Conv2DBackpropFilter', () => registerComposite('Conv2DBackpropFilter', backendName, conv2DBackpropFilter));
  add('DepthwiseConv2dNativeBackpropInput', () => registerComposite('DepthwiseConv2dNativeBackpropInput', backendName, depthwiseBackpropInput));
  add('DepthwiseConv2dNativeBackpropFilter', () => registerComposite('DepthwiseConv2dNativeBackpropFilter', backendName, depthwiseBackpropFilter));
  add('UnsortedSegmentSum', () => tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName, kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc }));
  return done;
}
