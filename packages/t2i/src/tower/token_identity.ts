/**
 * Token identity (docs/t2i.md): cross-entropy of reading each real token's own id back from its
 * last hidden state through the tied input embedding (logits = h·Eᵀ). The DiT reads the tower's
 * token states in context, so every word must stay distinguishable there; with only the sigmoid
 * loss against a small frozen image encoder, words the image features barely separate (skin tone,
 * colour) collapse onto each other (measured in docs/t2i.md). A web-scale tower keeps them by scale.
 */
import { tf, type Tensor } from '@raev2/core';

/** Mean over non-pad positions of −log softmax(h·Eᵀ)[id]; h [B, L, H], ids int32 [B, L], E [V, H]. */
export function tokenIdentityLoss(hidden: Tensor, ids: Tensor, embedding: Tensor, padId: number): Tensor {
  return tf.tidy(() => {
    const [b, l, h] = hidden.shape;
    const v = embedding.shape[0] as number;
    const logits = tf.matMul(hidden.reshape([b * l, h]), embedding, false, true);
    const flatIds = ids.reshape([b * l]);
    const nll = tf.neg(tf.sum(tf.logSoftmax(logits).mul(tf.oneHot(flatIds, v)), 1));
    const keep = tf.notEqual(flatIds, tf.scalar(padId, 'int32')).toFloat();
    return nll.mul(keep).sum().div(keep.sum().maximum(1));
  });
}
