/**
 * Muon (MomentUm Orthogonalized by Newton–Schulz) for 2-D weights, after Keller Jordan's reference:
 *   buf ← β·buf + (1 − β)·g                     momentum (β = 0.95)
 *   u   ← (1 − β)·g + β·buf  (Nesterov) or buf
 *   O   ← NS5(u)                                quintic Newton–Schulz, 5 steps, (a, b, c) = (3.4445, −4.7750, 2.0315)
 *   p   ← p·(1 − lr·wd) − lr·scale·O
 * The lerp form above and the older `buf ← β·buf + g; u ← g + β·buf` form differ by the factor
 * (1 − β) only, which NS5's normalisation removes, so both give the same update.
 * `scale`: 'match-adamw' (default) = 0.2·√max(rows, cols) (Moonlight, "Muon is Scalable"): the
 * update's RMS matches AdamW's, so Muon and AdamW share one lr and weight decay;
 * 'spectral' = √max(1, rows/cols) (Keller Jordan's reference; use a larger lr such as 0.02).
 * Tensors of rank > 2 are flattened to [shape[0], rest] like the reference does for convolutions.
 */
import { tf, type Tensor, type Variable } from '../../runtime/tf.js';
import { AdamW, type AdamWOptions } from './adamw.js';
import { OptimizerGroup, StatefulOptimizer, checkGradNames, type NamedParams } from './optimizer.js';

type Tensor2D = tf.Tensor2D;

export const NS_COEFFS = [3.4445, -4.775, 2.0315] as const;

/** Approximate orthogonalisation UVᵀ of G = USVᵀ: [rows, cols] → [rows, cols] with singular values ≈ 1 (the quintic keeps them in ~[0.7, 1.2]). */
export function newtonSchulz5(g: Tensor2D, steps = 5, eps = 1e-7): Tensor2D {
  return tf.tidy(() => {
    const [a, b, c] = NS_COEFFS;
    const tall = g.shape[0] > g.shape[1];
    let x: Tensor2D = tall ? g.transpose() : g;
    x = x.div(tf.norm(x).add(eps));
    for (let i = 0; i < steps; i++) {
      const A = tf.matMul(x, x, false, true); // [r, r], r = min(rows, cols)
      const B = A.mul(b).add(tf.matMul(A, A).mul(c));
      x = x.mul(a).add(tf.matMul(B, x));
    }
    return tall ? x.transpose() : x;
  });
}

export type MuonScale = 'match-adamw' | 'spectral';

export interface MuonOptions {
  lr: number;
  /** Momentum β (default 0.95). */
  momentum?: number;
  /** Nesterov momentum (default true). */
  nesterov?: boolean;
  /** Newton–Schulz iterations (default 5). */
  nsSteps?: number;
  /** Decoupled weight decay (default 0). */
  weightDecay?: number;
  /** Update scale rule (default 'match-adamw', see the file comment). */
  scale?: MuonScale;
}

/** The factor multiplying lr for a [rows, cols] matrix under `scale`. */
export function muonScale(rows: number, cols: number, scale: MuonScale): number {
  return scale === 'match-adamw' ? 0.2 * Math.sqrt(Math.max(rows, cols)) : Math.sqrt(Math.max(1, rows / cols));
}

export class Muon extends StatefulOptimizer {
  lr: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly nsSteps: number;
  readonly weightDecay: number;
  readonly scale: MuonScale;

  constructor(params: NamedParams, opts: MuonOptions) {
    super(params, ['momentum_buffer'], 'Muon');
    this.lr = opts.lr;
    this.momentum = opts.momentum ?? 0.95;
    this.nesterov = opts.nesterov ?? true;
    this.nsSteps = opts.nsSteps ?? 5;
    this.weightDecay = opts.weightDecay ?? 0;
    this.scale = opts.scale ?? 'match-adamw';
    for (const [name, v] of this.params) if (v.rank < 2) throw new Error(`Muon: parameter "${name}" has rank ${v.rank}; Muon only takes matrices (route it to AdamW)`);
  }

  step(grads: Map<string, Tensor>): void {
    checkGradNames(grads, this.params, 'Muon');
    const beta = this.momentum;
    for (const [name, g] of grads) {
      const p = this.params.get(name)!;
      const buf = this.slotsOf(name).get('momentum_buffer')!;
      this.steps.set(name, (this.steps.get(name) ?? 0) + 1);
      const rows = p.shape[0], cols = p.size / rows;
      const lrScaled = this.lr * muonScale(rows, cols, this.scale);
      tf.tidy(() => {
        const b1 = buf.mul(beta).add(g.mul(1 - beta));
        const u = this.nesterov ? g.mul(1 - beta).add(b1.mul(beta)) : b1;
        const o = newtonSchulz5(u.reshape([rows, cols]) as Tensor2D, this.nsSteps).reshape(p.shape);
        const decayed = this.weightDecay !== 0 ? p.mul(1 - this.lr * this.weightDecay) : p;
        buf.assign(b1);
        p.assign(decayed.sub(o.mul(lrScaled)));
      });
    }
  }
}

export interface MuonWithAdamWOptions {
  /** Shared lr (with the default 'match-adamw' scale one lr serves both). */
  lr: number;
  /** Muon's own lr when it should differ (the group keeps the ratio when a schedule sets `lr`). */
  muonLr?: number;
  weightDecay?: number;
  momentum?: number;
  nesterov?: boolean;
  nsSteps?: number;
  scale?: MuonScale;
  betas?: AdamWOptions['betas'];
  eps?: number;
  noDecay?: AdamWOptions['noDecay'];
  /**
   * Parameters to keep on AdamW although they are matrices: embeddings, the final/output layer …
   * (the caller marks them; e.g. `(n) => /embed|final_layer/.test(n)`). Default none.
   */
  adamw?: (name: string, v: Variable) => boolean;
}

/** Route 2-D weights to Muon and everything else (rank < 2, or marked by `adamw`) to AdamW; state saves under `muon/…` and `adamw/…`. */
export function muonWithAdamW(params: NamedParams, opts: MuonWithAdamWOptions): OptimizerGroup {
  const toMuon: [string, Variable][] = [];
  const toAdam: [string, Variable][] = [];
  for (const [name, v] of params) {
    if (v.rank === 2 && !(opts.adamw?.(name, v) ?? false)) toMuon.push([name, v]);
    else toAdam.push([name, v]);
  }
  const wd = opts.weightDecay ?? 0;
  const muon = new Muon(toMuon, { lr: opts.muonLr ?? opts.lr, momentum: opts.momentum, nesterov: opts.nesterov, nsSteps: opts.nsSteps, weightDecay: wd, scale: opts.scale });
  const adamw = new AdamW(toAdam, { lr: opts.lr, betas: opts.betas, eps: opts.eps, weightDecay: wd, noDecay: opts.noDecay });
  return new OptimizerGroup({ adamw, muon }); // adamw first: the group's `lr` is AdamW's
}
