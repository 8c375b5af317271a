/**
 * Training-time sampling of t and the dimension-dependent shift t' = s·t / (1 + (s − 1)·t),
 * s = sqrt(N·C / 4096) (RAE v1 DINOv2-B: √48 ≈ 6.93; RAEv2 DINOv3-L: 8).
 */
import { tf, type Tensor } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';

/** Base dimension of the shift rule. */
export const SHIFT_BASE_DIM = 4096;

/** s = sqrt(N·C / base). */
export function dimensionShift(numTokens: number, channels: number, base = SHIFT_BASE_DIM): number {
  return Math.sqrt((numTokens * channels) / base);
}

/** s·t / (1 + (s − 1)·t) on a number. */
export function shiftTime(t: number, s: number): number {
  return (s * t) / (1 + (s - 1) * t);
}

/** s·t / (1 + (s − 1)·t) elementwise in float32 (the order upstream evaluates it). */
export function shiftTimes(t: Tensor, s: number): Tensor {
  return tf.tidy(() => t.mul(s).div(t.mul(s - 1).add(1)));
}

/** How t is drawn: uniform in [0, tMax] or sigmoid(N(μ, σ²)), then shifted by `shift`. */
export interface TimeDistribution {
  type: 'uniform' | 'logit-normal';
  mu?: number;
  sigma?: number;
  /** Upper end of the uniform draw (RAE v1 velocity training: 1 − 1/1000). */
  tMax?: number;
  shift: number;
}

/** Map base draws to times: uniform u ∈ [0,1) → shift(u·tMax); normal z → shift(sigmoid(μ + σz)). [B] → [B] */
export function timesFromDraws(draws: Tensor, dist: TimeDistribution): Tensor {
  return tf.tidy(() => {
    const u = dist.type === 'uniform'
      ? (dist.tMax ?? 1) === 1 ? draws : draws.mul(dist.tMax ?? 1)
      : tf.sigmoid(draws.mul(dist.sigma ?? 1).add(dist.mu ?? 0));
    return dist.shift === 1 ? u.clone() : shiftTimes(u, dist.shift);
  });
}

/** Draw B training times from `rng`. → [B] */
export function sampleTimes(rng: Rng, batch: number, dist: TimeDistribution): Tensor {
  return tf.tidy(() => timesFromDraws(dist.type === 'uniform' ? rng.rand([batch]) : rng.randn([batch]), dist));
}
