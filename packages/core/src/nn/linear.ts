/** Linear layer with a PyTorch-layout weight [out, in] (keys `weight`, `bias`). */
import { tf, type Tensor, type Variable } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import { Module } from './module.js';
import { defaultRng, torchLinearDefault, xavierUniform, zerosInit } from './init.js';

export interface LinearOptions {
  bias?: boolean;
  /** 'xavier' (DiT/DDT), 'torch' (nn.Linear default), 'zeros' (adaLN / output layers). */
  init?: 'xavier' | 'torch' | 'zeros';
  rng?: Rng;
}

export class Linear extends Module {
  readonly weight: Variable;
  readonly bias: Variable | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super();
    const rng = defaultRng(opts.rng);
    const shape = [outFeatures, inFeatures];
    const init = opts.init ?? 'xavier';
    this.weight = this.param('weight', init === 'zeros' ? zerosInit(shape) : init === 'torch' ? torchLinearDefault(rng, shape) : xavierUniform(rng, shape));
    this.bias = opts.bias === false ? null : this.param('bias', zerosInit([outFeatures]));
  }

  /** [..., in] → [..., out] */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const x2 = x.reshape([-1, this.inFeatures]);
      let y = tf.matMul(x2, this.weight, false, true);
      if (this.bias) y = y.add(this.bias);
      return y.reshape([...lead, this.outFeatures]);
    });
  }
}
