/**
 * PyTorch `F.interpolate` (nearest / bilinear / bicubic, align_corners, antialias) as separable
 * resize matrices, applied with two plain matmuls so it runs (and has gradients) on every backend.
 *
 * The matrices reproduce PyTorch's CPU kernels (UpSampleKernel.cpp) including their float32 index
 * arithmetic: bicubic without antialias uses Keys' a = −0.75 on 4 edge-clamped taps; with antialias
 * the filter is widened by the downscale factor, uses a = −0.5 (as PIL) and is normalised to sum 1.
 * Position tables and images are both resized through `resizeChannelsLast`.
 */
import { tf, type Tensor } from '@raev2/core';

export type InterpMode = 'nearest' | 'bilinear' | 'bicubic';

export interface InterpOptions {
  mode: InterpMode;
  /** Widen the filter when downsampling (PyTorch `antialias=True`; bilinear/bicubic only). */
  antialias?: boolean;
  alignCorners?: boolean;
}

const f32 = Math.fround;

/** Keys cubic kernel for |x| ≤ 1 (PyTorch `cubic_convolution1`). */
function cubic1(x: number, a: number): number {
  return f32(f32(f32(f32(f32((a + 2) * x) - (a + 3)) * x) * x) + 1);
}

/** Keys cubic kernel for 1 < |x| < 2 (PyTorch `cubic_convolution2`). */
function cubic2(x: number, a: number): number {
  return f32(f32(f32(f32(f32(f32(a * x) - 5 * a) * x) + 8 * a) * x) - 4 * a);
}

/** PyTorch `area_pixel_compute_scale` in float32. */
function computeScale(inSize: number, outSize: number, alignCorners: boolean): number {
  if (alignCorners) return outSize > 1 ? f32((inSize - 1) / (outSize - 1)) : 0;
  return f32(inSize / outSize);
}

/** PyTorch `area_pixel_compute_source_index` in float32. */
function sourceIndex(scale: number, i: number, alignCorners: boolean, cubic: boolean): number {
  if (alignCorners) return f32(scale * i);
  const src = f32(f32(scale * f32(i + 0.5)) - 0.5);
  return !cubic && src < 0 ? 0 : src;
}

/** PyTorch `guard_index_and_lambda`: integer tap and its fractional offset in [0, 1]. */
function guard(real: number, inSize: number): [number, number] {
  const index = Math.min(Math.floor(real), inSize - 1);
  return [index, Math.min(Math.max(f32(real - index), 0), 1)];
}

/** Antialiased weights (PyTorch `_compute_indices_min_size_weights_aa`), float32 like the kernel. */
function antialiasRow(out: Float64Array, row: number, inSize: number, scale: number, interpSize: number, filter: (x: number) => number): void {
  const support = f32(scale >= 1 ? interpSize * 0.5 * scale : interpSize * 0.5);
  const maxSize = Math.ceil(support) * 2 + 1;
  const invscale = scale >= 1 ? f32(1 / scale) : 1;
  const center = f32(scale * f32(row + 0.5));
  const xmin = Math.max(Math.trunc(f32(center - support) + 0.5), 0);
  const xsize = Math.min(Math.max(Math.min(Math.trunc(f32(center + support) + 0.5), inSize) - xmin, 0), maxSize);
  const w = new Float32Array(xsize);
  let total = 0;
  for (let j = 0; j < xsize; j++) {
    w[j] = filter(f32((f32(j + xmin - center) + 0.5) * invscale));
    total = f32(total + w[j]);
  }
  for (let j = 0; j < xsize; j++) out[row * inSize + xmin + j] = total !== 0 ? f32(w[j] / total) : w[j];
}

/**
 * 1-D resize weights [outSize, inSize] (row-major) such that y = W·x equals PyTorch's
 * `F.interpolate` along one axis. Taps that PyTorch clamps to the edge are summed into the edge column.
 */
export function torchResizeWeights(inSize: number, outSize: number, opts: InterpOptions): Float64Array {
  const w = new Float64Array(outSize * inSize);
  const alignCorners = opts.alignCorners ?? false;
  if (inSize === outSize) {
    // every mode is the identity at equal size (PyTorch copies)
    for (let i = 0; i < outSize; i++) w[i * inSize + i] = 1;
    return w;
  }
  const scale = computeScale(inSize, outSize, alignCorners);
  if (opts.antialias && opts.mode !== 'nearest') {
    if (alignCorners) throw new Error('antialias=True with align_corners=True is not supported (PyTorch computes it on align_corners=False coordinates only)');
    const a = -0.5;
    const filter = opts.mode === 'bicubic'
      ? (x: number) => { const ax = Math.abs(f32(x)); return ax < 1 ? cubic1(ax, a) : ax < 2 ? cubic2(ax, a) : 0; }
      : (x: number) => { const ax = Math.abs(f32(x)); return ax < 1 ? f32(1 - ax) : 0; };
    for (let i = 0; i < outSize; i++) antialiasRow(w, i, inSize, scale, opts.mode === 'bicubic' ? 4 : 2, filter);
    return w;
  }
  for (let i = 0; i < outSize; i++) {
    if (opts.mode === 'nearest') {
      // legacy 'nearest': floor(i · in/out)
      const src = Math.min(Math.floor(f32(i * f32(inSize / outSize))), inSize - 1);
      w[i * inSize + src] = 1;
    } else if (opts.mode === 'bilinear') {
      const [i0, l1] = guard(sourceIndex(scale, i, alignCorners, false), inSize);
      const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
      w[i * inSize + i0] += f32(1 - l1);
      w[i * inSize + i1] += l1;
    } else {
      const [i0, t] = guard(sourceIndex(scale, i, alignCorners, true), inSize);
      const a = -0.75;
      const coeffs = [cubic2(f32(t + 1), a), cubic1(t, a), cubic1(f32(1 - t), a), cubic2(f32(f32(1 - t) + 1), a)];
      for (let j = 0; j < 4; j++) w[i * inSize + Math.min(Math.max(i0 - 1 + j, 0), inSize - 1)] += coeffs[j];
    }
  }
  return w;
}

/**
 * Resize the two spatial axes of a channels-last tensor [B, H, W, C] (or [H, W, C]) with row
 * weights `wy` [h, H] and column weights `wx` [w, W]: y = Wy · x · Wxᵀ per channel → [B, h, w, C].
 */
export function resizeChannelsLast(x: Tensor, wy: Float64Array | Float32Array, wx: Float64Array | Float32Array, outSize: [number, number]): Tensor {
  return tf.tidy(() => {
    const squeeze = x.rank === 3;
    const x4 = squeeze ? x.expandDims(0) : x;
    const [b, hIn, wIn, c] = x4.shape;
    const [h, w] = outSize;
    if (wy.length !== h * hIn || wx.length !== w * wIn) throw new Error(`resize weights do not match ${hIn}×${wIn} → ${h}×${w}`);
    let y = x4;
    if (w !== wIn || !isIdentity(wx, w)) {
      // columns: [W, B·H·C] ← transpose so W is the contracted (row) axis of a plain matmul
      const cols = y.transpose([2, 0, 1, 3]).reshape([wIn, b * hIn * c]);
      y = tf.matMul(tf.tensor2d(Float32Array.from(wx), [w, wIn]), cols).reshape([w, b, hIn, c]).transpose([1, 2, 0, 3]);
    }
    if (h !== hIn || !isIdentity(wy, h)) {
      const rows = y.transpose([1, 0, 2, 3]).reshape([hIn, b * w * c]);
      y = tf.matMul(tf.tensor2d(Float32Array.from(wy), [h, hIn]), rows).reshape([h, b, w, c]).transpose([1, 0, 2, 3]);
    }
    return squeeze ? y.squeeze([0]) : y.clone();
  });
}

function isIdentity(m: Float64Array | Float32Array, n: number): boolean {
  if (m.length !== n * n) return false;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (m[i * n + j] !== (i === j ? 1 : 0)) return false;
  return true;
}

/** `F.interpolate` of a channels-last tensor [B, H, W, C] to `size` (h, w). */
export function interpolate(x: Tensor, size: [number, number], opts: InterpOptions): Tensor {
  const [hIn, wIn] = x.shape.slice(-3, -1);
  return resizeChannelsLast(x, torchResizeWeights(hIn, size[0], opts), torchResizeWeights(wIn, size[1], opts), size);
}

/**
 * Resize a learned square position table of patch tokens [1, g·g, D] (row-major grid) to the grid
 * (h, w) → [1, h·w, D], as HF's `interpolate_pos_encoding` does with `F.interpolate(size=(h, w))`.
 */
export function interpolatePosTable(table: Tensor, size: [number, number], opts: InterpOptions): Tensor {
  return tf.tidy(() => {
    const [, n, d] = table.shape;
    const g = Math.round(Math.sqrt(n));
    if (g * g !== n) throw new Error(`position table with ${n} patch rows is not a square grid`);
    return interpolate(table.reshape([g, g, d]), size, opts).reshape([1, size[0] * size[1], d]);
  });
}
