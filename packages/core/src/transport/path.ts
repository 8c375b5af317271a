/**
 * The linear flow path (t = 0 data, t = 1 noise): x_t = (1 − t)·x + t·ε, velocity v = ε − x.
 * For x-prediction, velocity is recovered as v̂ = (x_t − x̂)/max(t, t_eps) (RAEv2's clamp 0.05).
 */
import { tf, type Tensor } from '../runtime/tf.js';

/** Default t clamp when converting x-predictions to velocity. */
export const T_EPS = 0.05;

/** t [B] → [B, 1, …, 1] broadcastable against a tensor of rank `rank`. */
export function expandT(t: Tensor, rank: number): Tensor {
  return t.reshape([-1, ...Array<number>(rank - 1).fill(1)]);
}

/** x_t = (1 − t)·x + t·ε. x, ε: [B, …]; t [B] → [B, …] */
export function interpolate(x: Tensor, noise: Tensor, t: Tensor): Tensor {
  return tf.tidy(() => {
    const te = expandT(t, x.rank);
    return tf.scalar(1).sub(te).mul(x).add(te.mul(noise));
  });
}

/** v = ε − x (dx_t/dt). */
export function velocityTarget(x: Tensor, noise: Tensor): Tensor {
  return tf.tidy(() => noise.sub(x));
}

/** v̂ = (x_t − x̂)/max(t, tEps). xt, xHat: [B, …]; t [B] → [B, …] */
export function xToVelocity(xt: Tensor, xHat: Tensor, t: Tensor, tEps = T_EPS): Tensor {
  return tf.tidy(() => xt.sub(xHat).div(expandT(t, xt.rank).maximum(tEps)));
}

/** A network output in either parameterisation → velocity. */
export function toVelocity(pred: Tensor, xt: Tensor, t: Tensor, prediction: 'x' | 'velocity', tEps = T_EPS): Tensor {
  return prediction === 'velocity' ? pred.clone() : xToVelocity(xt, pred, t, tEps);
}
