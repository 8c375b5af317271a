/**
 * Token identity (docs/t2i.md): cross-entropy of reading each real token's own id back from its
 * last hidden state through the tied input embedding (logits = h·Eᵀ). The DiT reads the tower's
 * token states in context, so every word must stay distinguishable there; with only the sigmoid
 * loss against a small frozen image encoder, words the image features barely separate (skin tone,
 * colour) collapse onto each other (measured in docs/t2i.md). A web-scale tower keeps them by scale.
 */
import { tf, crossEntropy, type Tensor } from '@raev2/core';

/** Mean over non-pad positions of −log softmax(h·Eᵀ)[id]; h [B, L, H], ids int32 [B, L], E [V, H]. */
export function tokenIdentityLoss(hidden: Tensor, ids: Tensor, embedding: Tensor, padId: number): Tensor {
  const flatIds = ids.dataSync();
  const keep: number[] = [];
  flatIds.forEach((id, i) => id !== padId && keep.push(i));
  return tf.tidy(() => {
    const [b, l, h] = hidden.shape;
    if (keep.length === 0) return tf.scalar(0);
    const rows = tf.gather(hidden.reshape([b * l, h]), tf.tensor1d(keep, 'int32'));
    const target = tf.oneHot(tf.tensor1d(keep.map((i) => flatIds[i]), 'int32'), embedding.shape[0] as number);
    return crossEntropy(tf.matMul(rows, embedding, false, true), target);
  });
}
