/** Feed-forward blocks: GELU MLP (fc1 → act → fc2) and SwiGLU (w12 → silu(x1)·x2 → w3). */
import type { Tensor } from '../runtime/tf.js';
import { tf } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import { Module } from './module.js';
import { Linear, type LinearOptions } from './linear.js';
import { gelu, silu } from './activations.js';

export class Mlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(dim: number, hidden: number, readonly act: (x: Tensor) => Tensor = gelu, opts: LinearOptions & { names?: [string, string]; outDim?: number } = {}) {
    super();
    const [n1, n2] = opts.names ?? ['fc1', 'fc2'];
    this.fc1 = this.child(n1, new Linear(dim, hidden, opts));
    this.fc2 = this.child(n2, new Linear(hidden, opts.outDim ?? dim, opts));
  }
  /** [..., dim] → [..., dim] */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.fc2.forward(this.act(this.fc1.forward(x))));
  }
}

/**
 * SwiGLU as in timm's SwiGLUFFN (`w12` fused gate+value, `w3` out): silu(x·W1)·(x·W2)·W3.
 * DiT^DH hidden width is int(2/3 · mlp_ratio · D).
 */
export class SwiGLU extends Module {
  readonly w12: Linear;
  readonly w3: Linear;
  constructor(dim: number, readonly hidden: number, opts: LinearOptions & { rng?: Rng } = {}) {
    super();
    this.w12 = this.child('w12', new Linear(dim, 2 * hidden, opts));
    this.w3 = this.child('w3', new Linear(hidden, dim, opts));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [x1, x2] = tf.split(this.w12.forward(x), 2, -1);
      return this.w3.forward(silu(x1).mul(x2));
    });
  }
}
