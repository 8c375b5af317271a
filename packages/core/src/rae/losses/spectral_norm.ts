/**
 * Spectral normalisation of a weight (Miyato et al. 2018), as torch.nn.utils.spectral_norm with one
 * power iteration, dim 0 and eps 1e-12 — what the authors' discriminator heads use:
 *   W_mat = W.reshape(out, −1);  in training: v ← n(W_matᵀ u), u ← n(W_mat v)  (n(x) = x / max(‖x‖, eps));
 *   σ = uᵀ W_mat v;  W_SN = W / σ
 * u and v are persistent state (the caller keeps them as module buffers, so they live in checkpoints)
 * and are constants of the gradient, as in torch (the iteration runs without autograd).
 */
import { tf, type Tensor } from '../../runtime/tf.js';
import type { Rng } from '../../runtime/rng.js';

export const SPECTRAL_NORM_EPS = 1e-12;

/** x [n] → x / max(‖x‖, eps), in float64 on the host. */
function normalized(x: ArrayLike<number>, eps = SPECTRAL_NORM_EPS): Float32Array {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  const d = Math.max(Math.sqrt(s), eps);
  return Float32Array.from(x, (v) => v / d);
}

/** Initial (u [out], v [in]) as torch: normal draws, normalised. */
export function initialSpectralVectors(rows: number, cols: number, rng: Rng): { u: Tensor; v: Tensor } {
  const du = rng.randn([rows]), dv = rng.randn([cols]);
  const u = tf.tensor1d(normalized(du.dataSync())), v = tf.tensor1d(normalized(dv.dataSync()));
  tf.dispose([du, dv]);
  return { u, v };
}

/**
 * One power iteration on W [out, ...] from u [out] → the new (u, v), detached (fresh tensors the caller
 * owns; the gradient never flows through them).
 */
export function powerIteration(w: Tensor, u: Tensor): { u: Tensor; v: Tensor } {
  const rows = w.shape[0];
  const [wd, ud] = [w.dataSync(), u.dataSync()];
  const cols = wd.length / rows;
  const wtu = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) wtu[c] += wd[r * cols + c] * ud[r];
  const v = normalized(wtu);
  const wv = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += wd[r * cols + c] * v[c];
    wv[r] = s;
  }
  return { u: tf.tensor1d(normalized(wv)), v: tf.tensor1d(v) };
}

/** W / σ with σ = uᵀ W_mat v (differentiable in W; u [out], v [in·…] are constants). */
export function spectralNormalize(w: Tensor, u: Tensor, v: Tensor): Tensor {
  return tf.tidy(() => {
    const rows = w.shape[0];
    const sigma = tf.matMul(tf.matMul(u.reshape([1, rows]), w.reshape([rows, -1])), v.reshape([-1, 1])).reshape([]);
    return w.div(sigma);
  });
}
