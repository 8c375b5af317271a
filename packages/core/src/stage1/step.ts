/**
 * One stage-1 optimisation step's gradients (SPEC §1.4):
 *   decoder:       L = w_1·|x̂ − x|₁ + w_p·L_perc + w_g·λ·L_G(D(aug(q(x̂))))
 *   discriminator: L_D(D(aug(x)), D(aug(q(x̂))))   on the detached reconstructions
 * with q the straight-through 8-bit quantisation and λ the adaptive weight on `decoder_pred.weight`.
 * tfjs keeps no graph between gradient calls, so the decoder's gradient is assembled from two
 * passes (∇L_rec and ∇L_G) as g_rec + w_g·λ·g_G — exactly the gradient of L for the step's λ.
 */
import { tf, type Tensor } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import type { NamedParams } from '../train/optim/optimizer.js';
import { disposeGrads, valueAndGrads } from '../train/grads.js';
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
  quantize: boolean;
  /** DiffAugment of D's inputs (false: none). */
  diffaug: DiffAugOptions | false;
  maxWeight?: number;
}

export interface DecoderStepResult {
  /** Gradients of the decoder's parameters (caller disposes with `disposeGrads`). */
  grads: Map<string, Tensor>;
  /** The reconstructions x̂ (detached, NHWC [0,1]); the caller disposes them. */
  fakes: Tensor;
  scalars: Record<string, number>;
}

/** What D sees of a batch: quantised (when asked), then DiffAugment (when asked). */
function discInput(images: Tensor, t: Pick<DecoderLossTerms, 'quantize' | 'diffaug'>, rng: Rng): Tensor {
  return tf.tidy(() => {
    const q = t.quantize ? quantize8bit(images) : images;
    return t.diffaug === false ? q : diffAugment(q, rng, t.diffaug);
  });
}

/**
 * Decoder gradients for latents z [B, N, C] (already noise-augmented) and targets x NHWC [0,1].
 * `decode` maps z to images in [0,1]; `params` are the decoder's parameters (names as state-dict keys).
 */
export function decoderGrads(decode: (z: Tensor) => Tensor, params: NamedParams, z: Tensor, x: Tensor, terms: DecoderLossTerms, useGan: boolean, rng: Rng): DecoderStepResult {
  const list = [...params];
  let fakes: Tensor | null = null;
  const parts: Record<string, number> = {};
  const rec = valueAndGrads(() => {
    const xhat = decode(z);
    fakes?.dispose();
    fakes = tf.keep(xhat.clone());
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
  if (!(useGan && terms.disc && terms.ganWeight > 0)) return { grads: rec.grads, fakes: fakes!, scalars: { ...scalars, loss: rec.value } };
  const disc = terms.disc;
  let gan: { value: number; grads: Map<string, Tensor> };
  try {
    gan = valueAndGrads(() => generatorLoss(disc(discInput(decode(z), terms, rng)), terms.gLoss), list);
  } catch (e) {
    disposeGrads(rec.grads);
    (fakes as Tensor | null)?.dispose();
    throw e;
  }
  const gRec = rec.grads.get(LAST_LAYER), gGan = gan.grads.get(LAST_LAYER);
  if (gRec == null || gGan == null) {
    disposeGrads(rec.grads);
    disposeGrads(gan.grads);
    (fakes as Tensor | null)?.dispose();
    throw new Error(`decoderGrads: no gradient for ${LAST_LAYER} (the adaptive GAN weight is measured there)`);
  }
  const lambda = adaptiveWeight(gRec, gGan, terms.maxWeight ?? ADAPTIVE_MAX);
  const grads = combineGrads(rec.grads, gan.grads, terms.ganWeight * lambda);
  disposeGrads(rec.grads);
  disposeGrads(gan.grads);
  return { grads, fakes: fakes!, scalars: { ...scalars, gan: gan.value, lambda, loss: rec.value + terms.ganWeight * lambda * gan.value } };
}

/**
 * Discriminator gradients from real images and detached fakes (NHWC [0,1]); one backbone pass over
 * [aug(x); aug(q(x̂))]. Reals are not quantised (they already are 8-bit).
 */
export function discriminatorGrads(disc: (images: Tensor) => Tensor, params: NamedParams, real: Tensor, fakes: Tensor, terms: Pick<DecoderLossTerms, 'dLoss' | 'quantize' | 'diffaug'>, rng: Rng): { grads: Map<string, Tensor>; scalars: Record<string, number> } {
  const b = real.shape[0];
  const inputs = tf.tidy(() => {
    const r = terms.diffaug === false ? real : diffAugment(real, rng, terms.diffaug);
    return tf.concat([r, discInput(fakes, terms, rng)], 0);
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
