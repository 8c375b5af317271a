/**
 * Noise augmentation of the raw latent during decoder training (docs/method.md, decoder): z̃ = z + σ·ε with
 * σ = τ·U(0, 1) drawn once per sample and ε ~ N(0, I), from a seeded Rng.
 */
import { tf, type Tensor } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';

/** Published τ. */
export const NOISE_TAU = 0.8;

/** Per-sample σ_b = τ·u_b, u_b ~ U(0, 1). */
export function noiseSigmas(batch: number, tau: number, rng: Rng): Float32Array {
  return rng.uniformArray(batch, 0, tau);
}

/** z [B, ...] → z + σ_b·ε (returns z's copy unchanged when τ = 0). */
export function noiseAugment(z: Tensor, tau: number, rng: Rng): Tensor {
  if (!(tau >= 0)) throw new Error(`noise tau must be ≥ 0, got ${tau}`);
  if (tau === 0) return z.clone();
  const b = z.shape[0];
  const sig = noiseSigmas(b, tau, rng);
  const eps = rng.randn(z.shape);
  return tf.tidy(() => {
    const s = tf.tensor(sig, [b, ...z.shape.slice(1).map(() => 1)]);
    const out = z.add(eps.mul(s));
    eps.dispose();
    return out;
  });
}
