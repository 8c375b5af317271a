/** Parameter initialisers (seeded through an Rng so models are reproducible on every backend). */
import { tf, type Tensor } from '../runtime/tf.js';
import { Rng } from '../runtime/rng.js';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Xavier/Glorot uniform for a weight of shape [out, in, ...kernel] (PyTorch layout). */
export function xavierUniform(rng: Rng, shape: number[]): Tensor {
  const receptive = size(shape.slice(2));
  const fanOut = shape[0] * receptive;
  const fanIn = (shape[1] ?? 1) * receptive;
  const a = Math.sqrt(6 / (fanIn + fanOut));
  return tf.tensor(rng.uniformArray(size(shape), -a, a), shape);
}

/** PyTorch nn.Linear default: kaiming-uniform(a=√5) weight = U(±1/√fan_in). */
export function torchLinearDefault(rng: Rng, shape: number[]): Tensor {
  const fanIn = size(shape.slice(1));
  const a = 1 / Math.sqrt(fanIn);
  return tf.tensor(rng.uniformArray(size(shape), -a, a), shape);
}

export function normalInit(rng: Rng, shape: number[], std: number, mean = 0): Tensor {
  return tf.tensor(rng.normalArray(size(shape), mean, std), shape);
}

/** Truncated normal in [−2σ, 2σ] (timm's trunc_normal_ with its default cut-offs at ±2 absolute is close for σ=0.02). */
export function truncNormalInit(rng: Rng, shape: number[], std: number): Tensor {
  const n = size(shape);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    do v = rng.normal(); while (Math.abs(v) > 2);
    out[i] = v * std;
  }
  return tf.tensor(out, shape);
}

export const zerosInit = (shape: number[]): Tensor => tf.zeros(shape);
export const onesInit = (shape: number[]): Tensor => tf.ones(shape);

/** Where modules get their init randomness when the caller passes none. */
export function defaultRng(rng?: Rng): Rng {
  return rng ?? new Rng(0);
}
