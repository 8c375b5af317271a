/**
 * Classic REPA (Yu et al.): a 3-layer SiLU MLP projector D → hidden → hidden → C_target on body
 * tokens, trained to align with a frozen encoder's clean patch features by negative cosine similarity.
 */
import { tf, type Tensor } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { silu } from '../nn/activations.js';

/** Keys `0`, `2`, `4` (torch Sequential(Linear, SiLU, Linear, SiLU, Linear)). */
export class RepaProjector extends Module {
  readonly layers: Linear[];
  constructor(dim: number, hidden: number, targetDim: number, rng?: Rng) {
    super();
    this.layers = [
      this.child('0', new Linear(dim, hidden, { rng })),
      this.child('2', new Linear(hidden, hidden, { rng })),
      this.child('4', new Linear(hidden, targetDim, { rng })),
    ];
  }
  /** [B, N, D] → [B, N, C_target] */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.layers[2].forward(silu(this.layers[1].forward(silu(this.layers[0].forward(x))))));
  }
}

/** −mean over batch and tokens of cos(pred_n, target_n). pred, target: [B, N, C] → scalar. */
export function repaLoss(pred: Tensor, target: Tensor): Tensor {
  return tf.tidy(() => {
    const unit = (v: Tensor) => v.div(v.square().sum(-1, true).sqrt().maximum(1e-8));
    return unit(pred).mul(unit(target)).sum(-1).mean().neg();
  });
}

/** Default REPA weight λ (docs/method.md §2.2). */
export const REPA_WEIGHT = 0.5;
