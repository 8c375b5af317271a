/**
 * AdamW with PyTorch's semantics (torch.optim.AdamW, non-amsgrad, foreach/single-tensor path):
 *   p ← p·(1 − lr·wd)                       decoupled weight decay, applied first
 *   m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²
 *   p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)     ε added after bias-correcting √v
 * with t counted per parameter.
 */
import { tf, type Tensor, type Variable } from '../../runtime/tf.js';
import { StatefulOptimizer, checkGradNames, type NamedParams } from './optimizer.js';

export interface AdamWOptions {
  lr: number;
  /** (β1, β2); default (0.9, 0.999) like PyTorch. */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay; default 0.01 like PyTorch. */
  weightDecay?: number;
  /** Parameters excluded from weight decay (e.g. `noDecayBiasNorm`); default none. */
  noDecay?: (name: string, v: Variable) => boolean;
}

/** The usual no-decay rule: biases, norm scales and other rank < 2 tensors. */
export function noDecayBiasNorm(_name: string, v: Variable): boolean {
  return v.rank < 2;
}

export class AdamW extends StatefulOptimizer {
  lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  private readonly noDecay: (name: string, v: Variable) => boolean;

  constructor(params: NamedParams, opts: AdamWOptions) {
    super(params, ['exp_avg', 'exp_avg_sq'], 'AdamW');
    this.lr = opts.lr;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    this.noDecay = opts.noDecay ?? (() => false);
    const [b1, b2] = this.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new Error(`AdamW: betas must be in [0, 1), got (${b1}, ${b2})`);
  }

  step(grads: Map<string, Tensor>): void {
    checkGradNames(grads, this.params, 'AdamW');
    const [b1, b2] = this.betas;
    for (const [name, g] of grads) {
      const p = this.params.get(name)!;
      const s = this.slotsOf(name);
      const m = s.get('exp_avg')!, v = s.get('exp_avg_sq')!;
      const t = (this.steps.get(name) ?? 0) + 1;
      this.steps.set(name, t);
      const wd = this.noDecay(name, p) ? 0 : this.weightDecay;
      // bias corrections in float64 JS; only their float32 roundings enter the graph
      const stepSize = this.lr / (1 - b1 ** t);
      const bc2Sqrt = Math.sqrt(1 - b2 ** t);
      tf.tidy(() => {
        const m1 = m.mul(b1).add(g.mul(1 - b1));
        const v1 = v.mul(b2).add(g.square().mul(1 - b2));
        const denom = v1.sqrt().div(bc2Sqrt).add(this.eps);
        const decayed = wd !== 0 ? p.mul(1 - this.lr * wd) : p;
        m.assign(m1);
        v.assign(v1);
        p.assign(decayed.sub(m1.div(denom).mul(stepSize)));
      });
    }
  }
}
