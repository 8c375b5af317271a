/** Fixed 2-D sin-cos position embeddings (MAE / DiT `get_2d_sincos_pos_embed`). */
import { tf, type Tensor } from '../runtime/tf.js';

/** 1-D: for positions pos and D/2 frequencies ω_k = 1/10000^(k/(D/2)): [sin(pos·ω), cos(pos·ω)]. Float64 math. */
export function sincos1d(dim: number, pos: ArrayLike<number>): Float64Array {
  if (dim % 2 !== 0) throw new Error(`sin-cos embedding dim must be even, got ${dim}`);
  const half = dim / 2;
  const out = new Float64Array(pos.length * dim);
  for (let i = 0; i < pos.length; i++) {
    for (let k = 0; k < half; k++) {
      const a = pos[i] / Math.pow(10000, k / half);
      out[i * dim + k] = Math.sin(a);
      out[i * dim + half + k] = Math.cos(a);
    }
  }
  return out;
}

/**
 * 2-D table [gh·gw (+1 if cls), dim] in row-major grid order. As upstream (MAE), the first half of
 * the channels encodes the column (w) coordinate and the second half the row (h) coordinate;
 * an optional leading all-zero row for the CLS token.
 */
export function sincos2dTable(dim: number, gh: number, gw: number, clsToken = false): Float32Array {
  if (dim % 4 !== 0) throw new Error(`2-D sin-cos embedding dim must be divisible by 4, got ${dim}`);
  const n = gh * gw;
  const rows = new Float32Array((n + (clsToken ? 1 : 0)) * dim);
  const cols: number[] = [], rowsIdx: number[] = [];
  for (let i = 0; i < gh; i++) for (let j = 0; j < gw; j++) { rowsIdx.push(i); cols.push(j); }
  const ew = sincos1d(dim / 2, cols);
  const eh = sincos1d(dim / 2, rowsIdx);
  const off = clsToken ? dim : 0;
  for (let t = 0; t < n; t++) {
    rows.set(ew.subarray(t * dim / 2, (t + 1) * dim / 2), off + t * dim);
    rows.set(eh.subarray(t * dim / 2, (t + 1) * dim / 2), off + t * dim + dim / 2);
  }
  return rows;
}

/** The table as a tensor [1, N(+1), dim]. */
export function sincos2d(dim: number, gh: number, gw: number, clsToken = false): Tensor {
  return tf.tensor(sincos2dTable(dim, gh, gw, clsToken), [1, gh * gw + (clsToken ? 1 : 0), dim]);
}
