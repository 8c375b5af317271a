/** LayerNorm and RMSNorm over the last axis (keys `weight`, `bias`), plus affine-free functional forms. */
import { tf, type Tensor, type Variable } from '../runtime/tf.js';
import { Module } from './module.js';

/** (x − mean) / sqrt(var + eps) over the last axis, biased variance as in PyTorch. */
export function layerNorm(x: Tensor, eps: number): Tensor {
  return tf.tidy(() => {
    const mean = x.mean(-1, true);
    const xc = x.sub(mean);
    const variance = xc.square().mean(-1, true);
    return xc.mul(variance.add(eps).rsqrt());
  });
}

/** x / sqrt(mean(x²) + eps) over the last axis. */
export function rmsNorm(x: Tensor, eps: number): Tensor {
  return tf.tidy(() => x.mul(x.square().mean(-1, true).add(eps).rsqrt()));
}

export class LayerNorm extends Module {
  readonly weight: Variable | null;
  readonly bias: Variable | null;
  constructor(readonly dim: number, readonly eps = 1e-5, affine = true, bias = true) {
    super();
    this.weight = affine ? this.param('weight', tf.ones([dim])) : null;
    this.bias = affine && bias ? this.param('bias', tf.zeros([dim])) : null;
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      let y = layerNorm(x, this.eps);
      if (this.weight) y = y.mul(this.weight);
      if (this.bias) y = y.add(this.bias);
      return y;
    });
  }
}

export class RMSNorm extends Module {
  readonly weight: Variable | null;
  constructor(readonly dim: number, readonly eps = 1e-6, affine = true) {
    super();
    this.weight = affine ? this.param('weight', tf.ones([dim])) : null;
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const y = rmsNorm(x, this.eps);
      return this.weight ? y.mul(this.weight) : y;
    });
  }
}
