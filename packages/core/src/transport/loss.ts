/**
 * Flow-matching training losses.
 *  - RAEv2 (x-prediction): v̂ = (x_t − x̂)/max(t, 0.05), v = (x_t − x)/max(t, 0.05), L = mean (v̂ − v)²,
 *    plus the base head's identical term with weight 1.0 (and optionally REPA with weight 0.5).
 *  - RAE v1 (velocity prediction): L = mean (v̂ − (ε − x))².
 */
import { tf, type Tensor } from '../runtime/tf.js';
import { T_EPS, velocityTarget, xToVelocity } from './path.js';

/** Element-wise (v̂ − v)² of an x-prediction, both velocities clamped at tEps: [B, …] (no reduction, as upstream). */
export function xPredictionLoss(xHat: Tensor, x: Tensor, xt: Tensor, t: Tensor, tEps = T_EPS): Tensor {
  return tf.tidy(() => xToVelocity(xt, xHat, t, tEps).sub(xToVelocity(xt, x, t, tEps)).square());
}

/** Element-wise (v̂ − (ε − x))² of a velocity prediction: [B, …]. */
export function velocityLoss(vHat: Tensor, x: Tensor, noise: Tensor): Tensor {
  return tf.tidy(() => vHat.sub(velocityTarget(x, noise)).square());
}

/** Mean over every axis but the batch: [B, …] → [B]. */
export function meanFlat(x: Tensor): Tensor {
  return tf.tidy(() => x.reshape([x.shape[0], -1]).mean(1));
}
