/**
 * Image resampling as HF image processors do it. Slow processors resize 8-bit images with PIL
 * (always antialiased: the filter support grows with the downscale factor; bicubic a = −0.5);
 * fast processors use torchvision, i.e. PyTorch `F.interpolate(antialias=True)`. Both are
 * separable, so a resize is two matrices [out, in]; `pilResizeUint8` additionally reproduces PIL's
 * 8-bit fixed-point arithmetic bit for bit (used to check the float path and for uint8 inputs).
 */
import { torchResizeWeights } from '../vit/interpolate.js';

/** PIL resampling filters; the index is PIL's `Image.Resampling` value used in `resample`. */
export const PIL_RESAMPLE = ['nearest', 'lanczos', 'bilinear', 'bicubic', 'box', 'hamming'] as const;
export type ResampleFilter = (typeof PIL_RESAMPLE)[number];

/** Which library's resize semantics to reproduce. */
export type ResizeBackend = 'pil' | 'torch';

interface PilFilter {
  support: number;
  f: (x: number) => number;
}

const sinc = (x: number) => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));

// PIL libImaging/Resample.c filters
const PIL_FILTERS: Record<Exclude<ResampleFilter, 'nearest'>, PilFilter> = {
  box: { support: 0.5, f: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: { support: 1, f: (x) => { x = Math.abs(x); return x < 1 ? 1 - x : 0; } },
  hamming: { support: 1, f: (x) => { x = Math.abs(x); if (x === 0) return 1; if (x >= 1) return 0; const px = x * Math.PI; return (Math.sin(px) / px) * (0.54 + 0.46 * Math.cos(px)); } },
  bicubic: {
    support: 2,
    f: (x) => {
      const a = -0.5;
      x = Math.abs(x);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, f: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

/** PIL `precompute_coeffs` for one axis: per output pixel the first input index and its normalised weights. */
function pilCoeffs(inSize: number, outSize: number, filter: ResampleFilter): { xmin: number; weights: number[] }[] {
  const scale = inSize / outSize;
  if (filter === 'nearest') {
    // PIL resizes with NEAREST through an affine transform sampling at pixel centres
    return Array.from({ length: outSize }, (_, i) => ({ xmin: Math.min(Math.floor((i + 0.5) * scale), inSize - 1), weights: [1] }));
  }
  const { support: base, f } = PIL_FILTERS[filter];
  const filterscale = Math.max(scale, 1);
  const support = base * filterscale;
  const ss = 1 / filterscale;
  const out: { xmin: number; weights: number[] }[] = [];
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    const w: number[] = [];
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const v = f((x + xmin - center + 0.5) * ss);
      w.push(v);
      total += v;
    }
    out.push({ xmin, weights: total !== 0 ? w.map((v) => v / total) : w });
  }
  return out;
}

/** PIL's resize along one axis as a dense matrix [outSize, inSize] (float; no 8-bit rounding). */
export function pilResizeWeights(inSize: number, outSize: number, filter: ResampleFilter): Float64Array {
  const m = new Float64Array(outSize * inSize);
  if (inSize === outSize) {
    for (let i = 0; i < outSize; i++) m[i * inSize + i] = 1;
    return m;
  }
  pilCoeffs(inSize, outSize, filter).forEach(({ xmin, weights }, i) => weights.forEach((w, j) => (m[i * inSize + xmin + j] = w)));
  return m;
}

/** Resize matrix [out, in] for one axis with a library's semantics (torchvision resizes with antialias=True). */
export function resizeWeights(inSize: number, outSize: number, filter: ResampleFilter, backend: ResizeBackend): Float64Array {
  if (backend === 'pil') return pilResizeWeights(inSize, outSize, filter);
  if (filter !== 'bilinear' && filter !== 'bicubic' && filter !== 'nearest') {
    throw new Error(`torchvision tensors cannot be resized with the ${filter} filter (bilinear, bicubic, nearest only)`);
  }
  return torchResizeWeights(inSize, outSize, { mode: filter, antialias: filter !== 'nearest' });
}

const PRECISION_BITS = 32 - 8 - 2;

/** PIL `normalize_coeffs_8bpc`: weights to 22-bit fixed point, rounded half away from zero. */
function fixedPoint(weights: number[]): number[] {
  return weights.map((w) => Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS)));
}

/** Sum in fixed point with PIL's rounding offset, then clip to 0…255 (`clip8`). */
function clip8(acc: number): number {
  const v = Math.floor(acc / (1 << PRECISION_BITS));
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Bit-exact PIL `Image.resize` of an 8-bit image (HWC, interleaved channels) for the filters above:
 * horizontal pass then vertical pass, each rounding to 8 bits, as `ImagingResample` does.
 */
export function pilResizeUint8(src: Uint8Array, height: number, width: number, channels: number, outH: number, outW: number, filter: ResampleFilter): Uint8Array {
  if (src.length !== height * width * channels) throw new Error(`image buffer of ${src.length} bytes is not ${height}×${width}×${channels}`);
  if (filter === 'nearest') {
    const ys = pilCoeffs(height, outH, filter), xs = pilCoeffs(width, outW, filter);
    const out = new Uint8Array(outH * outW * channels);
    for (let y = 0; y < outH; y++) for (let x = 0; x < outW; x++) for (let c = 0; c < channels; c++) {
      out[(y * outW + x) * channels + c] = src[(ys[y].xmin * width + xs[x].xmin) * channels + c];
    }
    return out;
  }
  let img = src, w = width;
  if (outW !== width) {
    const coeffs = pilCoeffs(width, outW, filter).map(({ xmin, weights }) => ({ xmin, k: fixedPoint(weights) }));
    const out = new Uint8Array(height * outW * channels);
    for (let y = 0; y < height; y++) for (let x = 0; x < outW; x++) {
      const { xmin, k } = coeffs[x];
      for (let c = 0; c < channels; c++) {
        let acc = 1 << (PRECISION_BITS - 1);
        for (let j = 0; j < k.length; j++) acc += img[(y * width + xmin + j) * channels + c] * k[j];
        out[(y * outW + x) * channels + c] = clip8(acc);
      }
    }
    img = out;
    w = outW;
  }
  if (outH !== height) {
    const coeffs = pilCoeffs(height, outH, filter).map(({ xmin, weights }) => ({ ymin: xmin, k: fixedPoint(weights) }));
    const out = new Uint8Array(outH * w * channels);
    for (let y = 0; y < outH; y++) {
      const { ymin, k } = coeffs[y];
      for (let x = 0; x < w; x++) for (let c = 0; c < channels; c++) {
        let acc = 1 << (PRECISION_BITS - 1);
        for (let j = 0; j < k.length; j++) acc += img[((ymin + j) * w + x) * channels + c] * k[j];
        out[(y * w + x) * channels + c] = clip8(acc);
      }
    }
    img = out;
  }
  return img === src ? src.slice() : img;
}
