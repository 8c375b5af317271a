/**
 * Per-horizon scores of predicted frames: latent cosine (flattened standardised latents), latent
 * MSE, PSNR and SSIM of decoded predictions against the simulator's true frames, FD in the latent
 * space (token-mean pooled), and a clip-level Fréchet distance over per-frame features — a proxy,
 * not FVD (no I3D features): each clip is [mean, std] over time of its frames' pooled latents.
 */
import { tf, psnr, ssim, FeatureStats, frechetDistanceOf, type Tensor } from '@raev2/core';

export interface HorizonScore {
  latentCos: number;
  latentMse: number;
  psnr?: number;
  ssim?: number;
  fdLatent: number;
  /** Inverse-dynamics probe accuracy on (last context frame, prediction), mean over dx, dy, dyaw (eval/inverse_dynamics.ts). */
  actionAcc?: number;
}

const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / Math.max(1, xs.length);

/** Cosine of two flat vectors. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb + 1e-30);
}

/** Token-mean of a flat latent [N·C] → [C]. */
export function poolLatent(z: ArrayLike<number>, channels: number): Float64Array {
  const n = z.length / channels, out = new Float64Array(channels);
  for (let t = 0; t < n; t++) for (let c = 0; c < channels; c++) out[c] += z[t * channels + c] / n;
  return out;
}

/** FD between two sets of flat latents (token-mean pooled). */
export function latentFD(pred: readonly ArrayLike<number>[], real: readonly ArrayLike<number>[], channels: number): number {
  const a = new FeatureStats(channels), b = new FeatureStats(channels);
  for (const z of pred) a.update(poolLatent(z, channels));
  for (const z of real) b.update(poolLatent(z, channels));
  return frechetDistanceOf(a, b);
}

/** Clip-level FD proxy: per clip [mean_t, std_t] of its frames' pooled latents; FD between the two clip sets. */
export function clipFD(pred: readonly (readonly ArrayLike<number>[])[], real: readonly (readonly ArrayLike<number>[])[], channels: number): number {
  const feat = (clip: readonly ArrayLike<number>[]) => {
    const f = clip.map((z) => poolLatent(z, channels));
    const out = new Float64Array(2 * channels);
    for (let c = 0; c < channels; c++) {
      const m = mean(f.map((v) => v[c]));
      out[c] = m;
      out[channels + c] = Math.sqrt(mean(f.map((v) => (v[c] - m) ** 2)));
    }
    return out;
  };
  const a = new FeatureStats(2 * channels), b = new FeatureStats(2 * channels);
  for (const c of pred) a.update(feat(c));
  for (const c of real) b.update(feat(c));
  return frechetDistanceOf(a, b);
}

/** Scores of predicted latents against true latents (and, when given, decoded images against true frames NHWC [0,1]). */
export function scoreHorizon(pred: readonly Float32Array[], real: readonly Float32Array[], channels: number, images?: { pred: Tensor; real: Tensor }): HorizonScore {
  const cos = pred.map((p, i) => cosine(p, real[i]));
  const mse = pred.map((p, i) => { let s = 0; for (let j = 0; j < p.length; j++) s += (p[j] - real[i][j]) ** 2; return s / p.length; });
  const out: HorizonScore = { latentCos: mean(cos), latentMse: mean(mse), fdLatent: latentFD(pred, real, channels) };
  if (images) {
    const clamp = (t: Tensor) => tf.tidy(() => t.clipByValue(0, 1));
    const p = clamp(images.pred), r = clamp(images.real);
    try {
      out.psnr = mean(psnr(p, r));
      out.ssim = mean(ssim(p, r));
    } finally {
      tf.dispose([p, r]);
    }
  }
  return out;
}
