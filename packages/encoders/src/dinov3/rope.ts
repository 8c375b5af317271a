/**
 * DINOv3's 2-D rotary position embedding on patch tokens. Patch centres ((i+½)/h, (j+½)/w) are
 * mapped to [−1, 1]; angle = 2π·coord·inv_freq with inv_freq_k = 1/θ^(4k/head_dim), y then x,
 * tiled twice to head_dim; rotation uses the half-split `rotate_half`. Tables are computed in
 * float32 as upstream (eval mode: no coordinate augmentation). CLS and registers are not rotated.
 */
import { tf, type Tensor } from '@raev2/core';

const f32 = Math.fround;

/** cos and sin tables [h·w, headDim] for a patch grid (row-major). */
export function ropeTables(h: number, w: number, headDim: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const quarter = headDim / 4;
  const invFreq = Array.from({ length: quarter }, (_, k) => f32(1 / f32(Math.pow(theta, f32((k * 4) / headDim)))));
  const twoPi = f32(2 * Math.PI);
  const cos = new Float32Array(h * w * headDim), sin = new Float32Array(h * w * headDim);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const y = f32(f32(2 * f32(f32(i + 0.5) / h)) - 1), x = f32(f32(2 * f32(f32(j + 0.5) / w)) - 1);
    const row = (i * w + j) * headDim;
    for (let k = 0; k < quarter; k++) {
      const ay = f32(f32(twoPi * y) * invFreq[k]), ax = f32(f32(twoPi * x) * invFreq[k]);
      for (const off of [0, headDim / 2]) {
        cos[row + off + k] = Math.cos(ay);
        sin[row + off + k] = Math.sin(ay);
        cos[row + off + quarter + k] = Math.cos(ax);
        sin[row + off + quarter + k] = Math.sin(ax);
      }
    }
  }
  return { cos, sin };
}

/** [..., d] → cat(−x₂, x₁) with x₁, x₂ the two halves of the last axis. */
function rotateHalf(x: Tensor): Tensor {
  const d = x.shape[x.rank - 1];
  const [x1, x2] = tf.split(x, [d / 2, d / 2], -1);
  return tf.concat([tf.neg(x2), x1], -1);
}

/** A function rotating the patch tokens (the last h·w) of q/k heads [B, H, T, Dh]; cos/sin are [h·w, Dh] tensors. */
export function ropeRotate(cos: Tensor, sin: Tensor): (t: Tensor) => Tensor {
  return (t) =>
    tf.tidy(() => {
      const n = (cos.shape as number[])[0];
      const prefix = (t.shape as number[])[2] - n;
      const patches = t.slice([0, 0, prefix, 0], [-1, -1, n, -1]);
      const rotated = patches.mul(cos).add(rotateHalf(patches).mul(sin));
      return prefix > 0 ? tf.concat([t.slice([0, 0, 0, 0], [-1, -1, prefix, -1]), rotated], 2) : rotated;
    });
}
