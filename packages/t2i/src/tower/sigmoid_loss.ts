/**
 * The SigLIP pairwise sigmoid loss (docs/t2i.md): for unit-norm image embeddings x [B, P] and text
 * embeddings y [B, P], logits z_ij = exp(t')·x_i·y_j + b with a learned temperature t' and bias b
 * (initialised t' = log 10, b = −10), labels +1 on the diagonal and −1 elsewhere,
 *   L = −(1/B) Σ_i Σ_j log σ(label_ij · z_ij).
 */
import { tf, type Tensor } from '@raev2/core';

/** x, y [B, P] (normalised here) and scalar t', b → the loss (a scalar tensor). */
export function sigmoidLoss(imageEmb: Tensor, textEmb: Tensor, logitScale: Tensor, logitBias: Tensor): tf.Scalar {
  return tf.tidy(() => {
    const b = imageEmb.shape[0] as number;
    const x = l2Normalize(imageEmb), y = l2Normalize(textEmb);
    const logits = tf.matMul(x, y, false, true).mul(logitScale.exp()).add(logitBias); // [B, B]
    const labels = tf.eye(b).mul(2).sub(1);
    // −log σ(u) = softplus(−u) (tf.logSigmoid's custom gradient keeps a tensor this tidy disposes)
    return tf.softplus(labels.mul(logits).neg()).sum().div(b) as tf.Scalar;
  });
}

/** Rows scaled to unit L2 norm: [B, P] → [B, P]. */
export function l2Normalize(x: Tensor): Tensor {
  return tf.tidy(() => x.div(x.square().sum(-1, true).add(1e-12).sqrt()));
}
