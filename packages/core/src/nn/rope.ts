/**
 * 2-D rotary position embedding, EVA style (RAE `VisionRotaryEmbeddingFast`, RAEv2 `RoPE`):
 * the first half of each head's channels rotates with the token's row, the second half with its
 * column; channels rotate in interleaved pairs (2i, 2i+1). Tokens after the image grid
 * (time / condition tokens) get angle 0, i.e. they are not rotated, unless a condition places them
 * on the grid (`condPositions`: e.g. the context frames of a world model, token for token).
 */
import { tf, type Tensor } from '../runtime/tf.js';
import { Module } from './module.js';

export interface RopeTable {
  /** [rows, headDim] row-major, rows = gh·gw + condLen. */
  cos: Float32Array;
  sin: Float32Array;
  rows: number;
  headDim: number;
}

/**
 * cos/sin tables [gh·gw + condLen, headDim]. Frequencies ω_k = 1/θ^(2k/(headDim/2)), k < headDim/4,
 * each used twice (interleaved pairs). Computed with float32 rounding at each step like upstream.
 * `condPositions[i]` (i < condLen) gives trailing row i the angles of grid index p (row-major), or
 * angle 0 when p < 0 or absent.
 */
export function ropeTable(headDim: number, gh: number, gw: number, condLen = 0, theta = 10000, condPositions: ArrayLike<number> = []): RopeTable {
  if (headDim % 4 !== 0) throw new Error(`2-D RoPE needs a head dim divisible by 4, got ${headDim}`);
  const f = Math.fround;
  const d = headDim / 2;
  const freqs = Array.from({ length: d / 2 }, (_, k) => f(1 / f(Math.pow(theta, f((2 * k) / d)))));
  const rows = gh * gw + condLen;
  const cos = new Float32Array(rows * headDim).fill(1);
  const sin = new Float32Array(rows * headDim);
  for (let i = 0; i < gh; i++) {
    for (let j = 0; j < gw; j++) {
      const off = (i * gw + j) * headDim;
      for (let k = 0; k < d / 2; k++) {
        const ar = f(i * freqs[k]), ac = f(j * freqs[k]);
        cos[off + 2 * k] = cos[off + 2 * k + 1] = Math.cos(ar);
        sin[off + 2 * k] = sin[off + 2 * k + 1] = Math.sin(ar);
        cos[off + d + 2 * k] = cos[off + d + 2 * k + 1] = Math.cos(ac);
        sin[off + d + 2 * k] = sin[off + d + 2 * k + 1] = Math.sin(ac);
      }
    }
  }
  if (condPositions.length > condLen) throw new Error(`RoPE: ${condPositions.length} condition positions for ${condLen} condition rows`);
  for (let i = 0; i < condPositions.length; i++) {
    const p = condPositions[i];
    if (p < 0) continue;
    if (!Number.isInteger(p) || p >= gh * gw) throw new Error(`RoPE: condition position ${p} is not a grid index (grid ${gh}×${gw})`);
    cos.copyWithin((gh * gw + i) * headDim, p * headDim, (p + 1) * headDim);
    sin.copyWithin((gh * gw + i) * headDim, p * headDim, (p + 1) * headDim);
  }
  return { cos, sin, rows, headDim };
}

/** Interleaved-pair rotation by 90°: (x₀, x₁, x₂, x₃, …) → (−x₁, x₀, −x₃, x₂, …). [..., Dh] → [..., Dh] */
export function rotateHalf(x: Tensor): Tensor {
  return tf.tidy(() => {
    const shape = x.shape;
    const dh = shape[shape.length - 1] as number;
    const pairs = x.reshape([-1, dh / 2, 2]);
    const [a, b] = tf.split(pairs, 2, -1);
    return tf.concat([b.neg(), a], -1).reshape(shape);
  });
}

/**
 * x·cos + rotateHalf(x)·sin. x: [B, H, N, Dh]; cos/sin: [R, Dh]. When N > R, the extra trailing
 * tokens are left unrotated (angle 0), so a condition of any length can follow the image tokens.
 */
export function applyRope(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  return tf.tidy(() => {
    const n = x.shape[2] as number;
    const [r, dh] = cos.shape as [number, number];
    let c = cos, s = sin;
    if (n < r) {
      c = cos.slice([0, 0], [n, -1]);
      s = sin.slice([0, 0], [n, -1]);
    } else if (n > r) {
      c = tf.concat([cos, tf.ones([n - r, dh])], 0);
      s = tf.concat([sin, tf.zeros([n - r, dh])], 0);
    }
    return x.mul(c).add(rotateHalf(x).mul(s));
  });
}

/** RoPE with its tables as buffers `freqs_cos` / `freqs_sin` [gh·gw + condLen, headDim] (upstream state-dict keys). */
export class Rope extends Module {
  constructor(readonly headDim: number, readonly gridH: number, readonly gridW: number, readonly condLen = 0, theta = 10000, condPositions: ArrayLike<number> = []) {
    super();
    const t = ropeTable(headDim, gridH, gridW, condLen, theta, condPositions);
    this.buffer('freqs_cos', tf.tensor2d(t.cos, [t.rows, headDim]));
    this.buffer('freqs_sin', tf.tensor2d(t.sin, [t.rows, headDim]));
  }
  /** [B, H, N, Dh] → [B, H, N, Dh] */
  forward(x: Tensor): Tensor {
    return applyRope(x, this.getBuffer('freqs_cos'), this.getBuffer('freqs_sin'));
  }
}
