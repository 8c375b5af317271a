/**
 * The adaptive GAN weight (docs/method.md, decoder losses, VQGAN's rule):
 *   λ = clamp(‖∇_W L_rec‖ / (‖∇_W L_G‖ + 1e-6), 0, 1e4)
 * with W the decoder's last linear weight (`decoder_pred.weight`) and L_rec = L1 + w_p·L_perc.
 * tfjs has no retained graph, so the step takes the full gradients of L_rec and of L_G separately
 * and combines them as g = g_rec + w_g·λ·g_G (exact, since λ is a constant of the step).
 */
import { tf, type Tensor } from '../../runtime/tf.js';

export const ADAPTIVE_EPS = 1e-6;
export const ADAPTIVE_MAX = 1e4;

/** ‖x‖₂ of a tensor, accumulated in float64 on the host. */
export function norm64(x: Tensor): number {
  const d = x.dataSync();
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i] * d[i];
  return Math.sqrt(s);
}

/** λ from the gradients of L_rec and L_G w.r.t. the same weight W. */
export function adaptiveWeight(gradRec: Tensor, gradGan: Tensor, max = ADAPTIVE_MAX): number {
  if (gradRec.shape.join() !== gradGan.shape.join()) throw new Error(`adaptiveWeight: gradient shapes differ: [${gradRec.shape}] vs [${gradGan.shape}]`);
  const w = norm64(gradRec) / (norm64(gradGan) + ADAPTIVE_EPS);
  return Number.isFinite(w) ? Math.min(Math.max(w, 0), max) : 0;
}

/** a + scale·b by parameter name (a name in only one map keeps its own term); new tensors, inputs untouched. */
export function combineGrads(a: Map<string, Tensor>, b: Map<string, Tensor>, scale: number): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [n, g] of a) {
    const h = b.get(n);
    out.set(n, h ? tf.tidy(() => g.add(h.mul(scale))) : g.clone());
  }
  for (const [n, h] of b) if (!a.has(n)) out.set(n, tf.tidy(() => h.mul(scale)));
  return out;
}
