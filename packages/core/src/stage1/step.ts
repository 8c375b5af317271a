/**
 * One stage-1 optimisation step (docs/method.md, "Decoder losses and schedule"), as the authors' trainer:
 *   1. decoder (D in eval mode: no power iteration), on the noise-augmented latent z̃:
 *        L = w_1·|x̂ − x|₁ + w_p·L_perc + w_g·λ·L_G(D(aug(x̂))),  x̂ = dec(z̃)  (x̂ not quantised)
 *      then gradient clipping (when configured), the optimiser step and the EMA update;
 *   2. discriminator (D in training mode), on fakes re-decoded AFTER that step from the noise-free
 *      latent z, without gradient (the RAE in eval mode): L_D(D(aug(x)), D(aug(q(dec(z)))))
 * with q the 8-bit quantisation (only D's inputs are quantised) and λ the adaptive weight on
 * `decoder_pred.weight`. tfjs keeps no graph between gradient calls, so the decoder's gradient is
 * assembled from two passes (∇L_rec and ∇L_G) as g_rec + w_g·λ·g_G — exactly the gradient of L for the
 * step's λ.
 */
import { tf, type Tensor } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import type { NamedParams, Optimizer } from '../train/optim/optimizer.js';
import { disposeGrads, valueAndGrads } from '../train/grads.js';
import { clipGradNorm } from '../train/clip.js';
import { l1Loss } from '../rae/losses/l1.js';
import { discriminatorLoss, generatorLoss, quantize8bit, type DiscLossKind, type GenLossKind } from '../rae/losses/gan.js';
import { diffAugment, type DiffAugOptions } from '../rae/losses/diffaug.js';
import { adaptiveWeight, combineGrads, ADAPTIVE_MAX } from '../rae/losses/adaptive.js';

/** The decoder's last linear weight, where λ is measured. */
export const LAST_LAYER = 'decoder_pred.weight';

export interface DecoderLossTerms {
  l1: number;
  perceptualWeight: number;
  /** Perceptual distance x̂, x (NHWC [0,1]) → scalar; null: no perceptual term. */
  perceptual: ((xhat: Tensor, x: Tensor) => tf.Scalar) | null;
  ganWeight: number;
  /** Discriminator: images NHWC [0,1] → logits; null: no GAN. */
  disc: ((images: Tensor) => Tensor) | null;
  gLoss: GenLossKind;
  dLoss: DiscLossKind;
  /** Quantise D's fakes to 8-bit levels in its own update (the generator's pass never quantises). */
  quantize: boolean;
  /** DiffAugment of D's inputs (false: none). */
  diffaug: DiffAugOptions | false;
  maxWeight?: number;
}

export interface DecoderStepResult {
  /** Gradients of the decoder's parameters (caller disposes with `disposeGrads`). */
  grads: Map<string, Tensor>;
  scalars: Record<string, number>;
}

/** DiffAugment of D's input when asked. */
function augment(images: Tensor, t: Pick<DecoderLossTerms, 'diffaug'>, rng: Rng): Tensor {
  return t.diffaug === false ? images.clone() : diffAugment(images, rng, t.diffaug);
}

/**
 * Decoder gradients for latents z [B, N, C] (already noise-augmented) and targets x NHWC [0,1].
 * `decode` maps z to images in [0,1]; `params` are the decoder's parameters (names as state-dict keys).
 */
export function decoderGrads(decode: (z: Tensor) => Tensor, params: NamedParams, z: Tensor, x: Tensor, terms: DecoderLossTerms, useGan: boolean, rng: Rng): DecoderStepResult {
  const list = [...params];
  const parts: Record<string, number> = {};
  const rec = valueAndGrads(() => {
    const xhat = decode(z);
    const l1 = l1Loss(xhat, x);
    parts.l1 = l1.dataSync()[0];
    let loss: tf.Scalar = terms.l1 === 1 ? l1 : l1.mul(terms.l1);
    if (terms.perceptual && terms.perceptualWeight > 0) {
      const p = terms.perceptual(xhat, x);
      parts.perceptual = p.dataSync()[0];
      loss = loss.add(p.mul(terms.perceptualWeight));
    }
    return loss;
  }, list);
  const scalars: Record<string, number> = { ...parts, rec: rec.value };
  if (!(useGan && terms.disc && terms.ganWeight > 0)) return { grads: rec.grads, scalars: { ...scalars, loss: rec.value } };
  const disc = terms.disc;
  let gan: { value: number; grads: Map<string, Tensor> };
  try {
    gan = valueAndGrads(() => generatorLoss(disc(augment(decode(z), terms, rng)), terms.gLoss), list);
  } catch (e) {
    disposeGrads(rec.grads);
    throw e;
  }
  const gRec = rec.grads.get(LAST_LAYER), gGan = gan.grads.get(LAST_LAYER);
  if (gRec == null || gGan == null) {
    disposeGrads(rec.grads);
    disposeGrads(gan.grads);
    throw new Error(`decoderGrads: no gradient for ${LAST_LAYER} (the adaptive GAN weight is measured there)`);
  }
  const lambda = adaptiveWeight(gRec, gGan, terms.maxWeight ?? ADAPTIVE_MAX);
  const grads = combineGrads(rec.grads, gan.grads, terms.ganWeight * lambda);
  disposeGrads(rec.grads);
  disposeGrads(gan.grads);
  return { grads, scalars: { ...scalars, gan: gan.value, lambda, loss: rec.value + terms.ganWeight * lambda * gan.value } };
}

/**
 * Discriminator gradients from real images and detached fakes (NHWC [0,1]); one backbone pass over
 * [aug(x); aug(q(x̂))]. Only the fakes are quantised (the reals already are 8-bit).
 */
export function discriminatorGrads(disc: (images: Tensor) => Tensor, params: NamedParams, real: Tensor, fakes: Tensor, terms: Pick<DecoderLossTerms, 'dLoss' | 'quantize' | 'diffaug'>, rng: Rng): { grads: Map<string, Tensor>; scalars: Record<string, number> } {
  const b = real.shape[0];
  const inputs = tf.tidy(() => {
    const r = augment(real, terms, rng);
    return tf.concat([r, augment(terms.quantize ? quantize8bit(fakes) : fakes, terms, rng)], 0);
  });
  const stats: Record<string, number> = {};
  try {
    const { value, grads } = valueAndGrads(() => {
      const logits = disc(inputs);
      const lr = logits.slice([0, 0], [b, -1]), lf = logits.slice([b, 0], [b, -1]);
      const m = tf.tidy(() => tf.stack([lr.mean(), lf.mean(), lr.mean(1).greater(lf.mean(1)).toFloat().mean()]).dataSync());
      stats.logitsReal = m[0];
      stats.logitsFake = m[1];
      stats.discAccuracy = m[2];
      return discriminatorLoss(lr, lf, terms.dLoss);
    }, params);
    return { grads, scalars: { discLoss: value, ...stats } };
  } finally {
    inputs.dispose();
  }
}

/** What one stage-1 step updates: the decoder (with its optimiser and EMA) and, when the GAN is on, D. */
export interface Stage1StepParts {
  /** Latents [B, N, C] (raw, unstandardised) → images NHWC [0,1] through the decoder. */
  decode: (z: Tensor) => Tensor;
  decoderParams: NamedParams;
  decoderOptimizer: Optimizer;
  /** Called after the decoder's optimiser step (the EMA update). */
  afterDecoderStep?: () => void;
  /** Global gradient-norm clip of the decoder; null: none. */
  gradClip: number | null;
  /** The discriminator module (eval mode for the generator's pass, training mode for its own update), or null. */
  disc: { forward(images: Tensor): Tensor; namedParameters(): NamedParams; train(on?: boolean): unknown } | null;
  discOptimizer: Optimizer | null;
  terms: DecoderLossTerms;
}

/**
 * One step on a batch: `raw` the noise-free raw latents [B, N, C], `noisy` their noise-augmented copy
 * (what the decoder trains on), `x` the images NHWC [0,1]. Returns the logged scalars.
 */
export function stage1Step(p: Stage1StepParts, raw: Tensor, noisy: Tensor, x: Tensor, phase: { useGan: boolean; trainDisc: boolean }, rng: Rng): Record<string, number> {
  p.disc?.train(false);
  const g = decoderGrads(p.decode, p.decoderParams, noisy, x, p.terms, phase.useGan, rng);
  const scalars = g.scalars;
  try {
    if (p.gradClip != null) scalars.gradNorm = clipGradNorm(g.grads, p.gradClip);
    p.decoderOptimizer.step(g.grads);
  } finally {
    disposeGrads(g.grads);
  }
  p.afterDecoderStep?.();
  if (p.disc && p.discOptimizer && p.terms.disc && phase.trainDisc) {
    const fakes = tf.tidy(() => p.decode(raw)); // after the step, noise-free; no gradient is taken through it
    p.disc.train(true);
    try {
      const d = discriminatorGrads(p.terms.disc, p.disc.namedParameters(), x, fakes, p.terms, rng);
      p.discOptimizer.step(d.grads);
      disposeGrads(d.grads);
      Object.assign(scalars, d.scalars);
    } finally {
      fakes.dispose();
      p.disc.train(false);
    }
  }
  return scalars;
}
