/**
 * Adversarial terms of the decoder loss (docs/method.md, decoder losses) on discriminator logits of any shape:
 *   D hinge:    ½·(mean relu(1 − D(x)) + mean relu(1 + D(x̂)))
 *   D vanilla:  ½·(mean softplus(−D(x)) + mean softplus(D(x̂)))
 *   G hinge:    −mean D(x̂)                (the paper's generator term)
 *   G non-saturating: mean softplus(−D(x̂))
 * and the 8-bit quantisation of the fakes D trains on (straight-through, so a gradient through it stays defined).
 */
import { tf, type Tensor } from '../../runtime/tf.js';

export type DiscLossKind = 'hinge' | 'vanilla';
export type GenLossKind = 'hinge' | 'nonsaturating';

/** Discriminator loss from logits on real and fake inputs → scalar. */
export function discriminatorLoss(realLogits: Tensor, fakeLogits: Tensor, kind: DiscLossKind = 'hinge'): tf.Scalar {
  return tf.tidy(() => {
    const r = kind === 'hinge' ? tf.relu(tf.sub(1, realLogits)) : tf.softplus(realLogits.neg());
    const f = kind === 'hinge' ? tf.relu(tf.add(1, fakeLogits)) : tf.softplus(fakeLogits);
    return r.mean().add(f.mean()).mul(0.5) as tf.Scalar;
  });
}

/** Generator loss from logits on fake inputs → scalar. */
export function generatorLoss(fakeLogits: Tensor, kind: GenLossKind = 'hinge'): tf.Scalar {
  return tf.tidy(() => (kind === 'hinge' ? fakeLogits.mean().neg() : tf.softplus(fakeLogits.neg()).mean()) as tf.Scalar);
}

/** round(x·255)/255 with an identity gradient (straight-through estimator). */
const roundTo8bit = tf.customGrad(((x: Tensor) => ({ value: tf.round(x.mul(255)).div(255), gradFunc: (dy: Tensor) => dy })) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: Tensor) => Tensor;

/** Images in [0,1] → the nearest of the 256 levels k/255 after clamping; gradient = clamp's (1 inside [0,1], 0 outside). */
export function quantize8bit(images: Tensor): Tensor {
  return tf.tidy(() => roundTo8bit(images.clipByValue(0, 1)));
}
