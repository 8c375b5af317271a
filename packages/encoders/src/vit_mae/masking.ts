/**
 * ViT-MAE random masking by per-sample shuffling (HF `random_masking`): ids_shuffle = argsort(noise)
 * ascending, the first ⌊N·(1 − mask_ratio)⌋ shuffled patches are kept, ids_restore = argsort(ids_shuffle),
 * mask (1 = removed) in the original order.
 */
import { tf, type Tensor } from '@raev2/core';

export interface Masking {
  /** Kept patches in shuffled order [B, K, D]. */
  kept: Tensor;
  /** [B, N] float, 0 keep / 1 removed, original patch order. */
  mask: Tensor;
  /** [B, N] int32: position of each original patch in the shuffled sequence. */
  idsRestore: Tensor;
}

/** Stable ascending argsort of each row of a [B, N] host array. */
function argsortRows(values: ArrayLike<number>, b: number, n: number): Int32Array {
  const out = new Int32Array(b * n);
  for (let r = 0; r < b; r++) {
    const idx = Array.from({ length: n }, (_, i) => i).sort((i, j) => values[r * n + i] - values[r * n + j] || i - j);
    out.set(idx, r * n);
  }
  return out;
}

/** x [B, N, D], noise [B, N] → kept patches, mask and ids_restore. */
export function randomMasking(x: Tensor, noise: Tensor, maskRatio: number): Masking {
  const [b, n] = x.shape;
  if (noise.rank !== 2 || noise.shape[0] !== b || noise.shape[1] !== n) throw new Error(`noise must be [${b}, ${n}] (one value per patch), got [${noise.shape}]`);
  const keep = Math.trunc(n * (1 - maskRatio));
  const shuffle = argsortRows(noise.dataSync(), b, n);
  const restore = new Int32Array(b * n);
  const mask = new Float32Array(b * n);
  for (let r = 0; r < b; r++) for (let i = 0; i < n; i++) {
    const orig = shuffle[r * n + i];
    restore[r * n + orig] = i;
    mask[r * n + orig] = i < keep ? 0 : 1;
  }
  // gather as a one-hot matmul [B, K, N]·[B, N, D]: exact, and differentiable on every backend
  const onehot = new Float32Array(b * keep * n);
  for (let r = 0; r < b; r++) for (let i = 0; i < keep; i++) onehot[(r * keep + i) * n + shuffle[r * n + i]] = 1;
  return tf.tidy(() => {
    return {
      kept: tf.matMul(tf.tensor3d(onehot, [b, keep, n]), x),
      mask: tf.tensor2d(mask, [b, n]),
      idsRestore: tf.tensor2d(restore, [b, n], 'int32'),
    };
  });
}
