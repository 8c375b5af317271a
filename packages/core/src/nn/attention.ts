/** Scaled dot-product attention on [B, H, N, Dh] heads, with optional additive mask. */
import { tf, type Tensor } from '../runtime/tf.js';

/** [B, N, H·Dh] → [B, H, N, Dh] */
export function splitHeads(x: Tensor, heads: number): Tensor {
  const [b, n, d] = x.shape;
  return x.reshape([b, n, heads, d / heads]).transpose([0, 2, 1, 3]);
}

/** [B, H, N, Dh] → [B, N, H·Dh] */
export function mergeHeads(x: Tensor): Tensor {
  const [b, h, n, dh] = x.shape;
  return x.transpose([0, 2, 1, 3]).reshape([b, n, h * dh]);
}

/**
 * softmax(q·kᵀ·scale + mask)·v. q,k,v: [B, H, N, Dh]; mask broadcastable to [B, H, Nq, Nk],
 * additive (0 keep, large negative drop). Default scale 1/√Dh.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, mask?: Tensor | null, scale?: number): Tensor {
  return tf.tidy(() => {
    const dh = q.shape[q.shape.length - 1];
    let logits = tf.matMul(q.mul(scale ?? 1 / Math.sqrt(dh)), k, false, true);
    if (mask != null) logits = logits.add(mask);
    return tf.matMul(tf.softmax(logits, -1), v);
  });
}

/**
 * Additive key mask from a keep-mask [B, Nk] (1 keep, 0 drop) → [B, 1, 1, Nk].
 * Uses a finite large negative like HF (finfo.min) so fully-masked rows stay finite.
 */
export function keyPaddingMask(keep: Tensor, negative = -3.4028234663852886e38): Tensor {
  return tf.tidy(() => {
    const [b, n] = keep.shape;
    return tf.scalar(1).sub(keep.toFloat()).mul(negative).reshape([b, 1, 1, n]);
  });
}
