/**
 * Structural similarity (Wang et al. 2004) as skimage `structural_similarity(gaussian_weights=True,
 * sigma=1.5, use_sample_covariance=False)` and pytorch-msssim: 11×11 Gaussian window (σ 1.5),
 * K1 0.01, K2 0.03, local statistics over the valid region only, mean per channel, then over channels.
 * The separable Gaussian is applied as two plain matmuls with banded matrices (any backend, differentiable).
 */
import { tf, type Tensor } from '../runtime/tf.js';

export interface SsimOptions {
  dataRange?: number;
  /** Window side (odd). */
  winSize?: number;
  sigma?: number;
  k1?: number;
  k2?: number;
}

/** Normalised 1-D Gaussian taps of length `size`. */
export function gaussianTaps(size: number, sigma: number): Float64Array {
  const r = (size - 1) / 2;
  const g = Float64Array.from({ length: size }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const s = g.reduce((a, b) => a + b, 0);
  return g.map((v) => v / s);
}

/** Banded [n, n − size + 1] matrix whose column j holds the taps at rows j…j+size−1 (valid filtering as x·G). */
function bandMatrix(n: number, taps: Float64Array): Tensor {
  const out = n - taps.length + 1;
  const m = new Float32Array(n * out);
  for (let j = 0; j < out; j++) for (let t = 0; t < taps.length; t++) m[(j + t) * out + j] = taps[t];
  return tf.tensor2d(m, [n, out]);
}

/** SSIM per image [B] of two image batches NHWC (differentiable). */
export function ssimPerImage(a: Tensor, b: Tensor, opts: SsimOptions = {}): Tensor {
  if (a.shape.join() !== b.shape.join()) throw new Error(`image batches differ in shape: [${a.shape}] vs [${b.shape}]`);
  const win = opts.winSize ?? 11, sigma = opts.sigma ?? 1.5, range = opts.dataRange ?? 1;
  const [bs, h, w, c] = a.shape;
  if (win % 2 !== 1 || h < win || w < win) throw new Error(`SSIM needs images of at least ${win}×${win} (odd window), got ${h}×${w}`);
  const c1 = ((opts.k1 ?? 0.01) * range) ** 2, c2 = ((opts.k2 ?? 0.03) * range) ** 2;
  return tf.tidy(() => {
    const taps = gaussianTaps(win, sigma);
    const gw = bandMatrix(w, taps), gh = bandMatrix(h, taps);
    const ho = h - win + 1, wo = w - win + 1;
    // filter x, y, x², y², xy in one batch: [5·B·C, H, W] → along W → along H
    const x = a.transpose([0, 3, 1, 2]), y = b.transpose([0, 3, 1, 2]);
    const maps = tf.concat([x, y, x.square(), y.square(), x.mul(y)], 0); // [5B, C, H, W]
    const n = 5 * bs * c;
    const fw = tf.matMul(maps.reshape([n * h, w]), gw).reshape([n, h, wo]);
    const fh = tf.matMul(fw.transpose([0, 2, 1]).reshape([n * wo, h]), gh).reshape([5, bs, c, wo * ho]);
    const [mx, my, xx, yy, xy] = tf.unstack(fh, 0);
    const vx = xx.sub(mx.square()), vy = yy.sub(my.square()), cxy = xy.sub(mx.mul(my));
    const num = mx.mul(my).mul(2).add(c1).mul(cxy.mul(2).add(c2));
    const den = mx.square().add(my.square()).add(c1).mul(vx.add(vy).add(c2));
    return num.div(den).mean(2).mean(1); // spatial mean per channel, then channel mean
  });
}

/** SSIM per image as numbers. */
export function ssim(a: Tensor, b: Tensor, opts: SsimOptions = {}): number[] {
  const s = ssimPerImage(a, b, opts);
  const v = Array.from(s.dataSync());
  s.dispose();
  return v;
}
