/**
 * DiT^DH transformer blocks: pre-RMSNorm, attention with RoPE, SwiGLU MLP (hidden int(2/3·r·D)).
 * `DiTBlock` has no adaLN (RAEv2 in-context body); `AdaLNBlock` adds adaLN-Zero with 6 chunks
 * from a per-sample [B, D] (RAE v1 body) or per-token [B, N, D] (both DDT heads) condition.
 */
import { tf, type Tensor } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { RMSNorm } from '../nn/norm.js';
import { SwiGLU } from '../nn/mlp.js';
import { silu } from '../nn/activations.js';
import { gate, modulate } from '../nn/modulate.js';
import type { Rope } from '../nn/rope.js';
import { DiTAttention } from './attention.js';

/** SwiGLU with separate `w1`, `w2`, `w3` (RAEv2 `SwiGLUFFN`): w3(silu(w1 x) · w2 x). */
export class SwiGLU3 extends Module {
  readonly w1: Linear;
  readonly w2: Linear;
  readonly w3: Linear;
  constructor(dim: number, readonly hidden: number, rng?: Rng) {
    super();
    this.w1 = this.child('w1', new Linear(dim, hidden, { rng }));
    this.w2 = this.child('w2', new Linear(dim, hidden, { rng }));
    this.w3 = this.child('w3', new Linear(hidden, dim, { rng }));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.w3.forward(silu(this.w1.forward(x)).mul(this.w2.forward(x))));
  }
}

/** `SiLU → Linear` stored as torch `nn.Sequential`, so the linear's keys sit under `1.` (zero-initialised). */
export class AdaLNModulation extends Module {
  readonly linear: Linear;
  constructor(dim: number, outDim: number) {
    super();
    this.linear = this.child('1', new Linear(dim, outDim, { init: 'zeros' }));
  }
  /** c [..., D] → [..., outDim] */
  forward(c: Tensor): Tensor {
    return tf.tidy(() => this.linear.forward(silu(c)));
  }
}

/** Key-layout flavour: RAE v1 (`qkv`, `mlp.w12/w3`, `adaLN_modulation`) or RAEv2 (`q/k/v`, `mlp.w1/w2/w3`, `adaln_modulation`). */
export type BlockFlavour = 'rae' | 'raev2';

export interface BlockOptions {
  flavour: BlockFlavour;
  mlpRatio?: number;
  qkNorm?: boolean;
  rng?: Rng;
}

/** Pre-norm block without conditioning: x + attn(norm1 x); x + mlp(norm2 x). */
export class DiTBlock extends Module {
  readonly norm1: RMSNorm;
  readonly norm2: RMSNorm;
  readonly attn: DiTAttention;
  readonly mlp: SwiGLU | SwiGLU3;

  constructor(readonly dim: number, heads: number, opts: BlockOptions) {
    super();
    const rng = opts.rng;
    this.norm1 = this.child('norm1', new RMSNorm(dim));
    this.norm2 = this.child('norm2', new RMSNorm(dim));
    this.attn = this.child('attn', new DiTAttention(dim, heads, { fusedQkv: opts.flavour === 'rae', qkNorm: opts.qkNorm, rng }));
    const hidden = Math.floor((2 / 3) * dim * (opts.mlpRatio ?? 4));
    this.mlp = this.child('mlp', opts.flavour === 'rae' ? new SwiGLU(dim, hidden, { rng }) : new SwiGLU3(dim, hidden, rng));
  }

  /** x [B, N, D] → [B, N, D] */
  forward(x: Tensor, rope: Rope | null, mask: Tensor | null = null): Tensor {
    return tf.tidy(() => {
      const h = x.add(this.attn.forward(this.norm1.forward(x), rope, mask));
      return h.add(this.mlp.forward(this.norm2.forward(h)));
    });
  }
}

/** adaLN-Zero block: (shift, scale, gate) × (attn, mlp) = Linear(SiLU(c)).chunk(6). */
export class AdaLNBlock extends DiTBlock {
  readonly modulation: AdaLNModulation;

  constructor(dim: number, heads: number, opts: BlockOptions) {
    super(dim, heads, opts);
    this.modulation = this.child(opts.flavour === 'rae' ? 'adaLN_modulation' : 'adaln_modulation', new AdaLNModulation(dim, 6 * dim));
  }

  /** x [B, N, D], c [B, D] or [B, N, D] → [B, N, D] */
  override forward(x: Tensor, rope: Rope | null, mask: Tensor | null = null, c?: Tensor): Tensor {
    if (c == null) throw new Error('AdaLNBlock needs a condition c');
    return tf.tidy(() => {
      const [shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp] = tf.split(this.modulation.forward(c), 6, -1);
      const h = x.add(gate(this.attn.forward(modulate(this.norm1.forward(x), shiftMsa, scaleMsa), rope, mask), gateMsa));
      return h.add(gate(this.mlp.forward(modulate(this.norm2.forward(h), shiftMlp, scaleMlp)), gateMlp));
    });
  }
}

/**
 * DDT final layer: Linear(modulate(RMSNorm(x), shift, scale)) with (shift, scale) = Linear(SiLU(c)).
 * Keys: `norm_final`/`adaLN_modulation` (RAE v1) or `norm`/`adaln_modulation` (RAEv2); all zero-init but the norm.
 */
export class FinalLayer extends Module {
  readonly norm: RMSNorm;
  readonly linear: Linear;
  readonly modulation: AdaLNModulation;

  constructor(dim: number, outDim: number, flavour: BlockFlavour) {
    super();
    this.norm = this.child(flavour === 'rae' ? 'norm_final' : 'norm', new RMSNorm(dim));
    this.linear = this.child('linear', new Linear(dim, outDim, { init: 'zeros' }));
    this.modulation = this.child(flavour === 'rae' ? 'adaLN_modulation' : 'adaln_modulation', new AdaLNModulation(dim, 2 * dim));
  }

  /** x [B, N, D], c [B, D] or [B, N, D] → [B, N, outDim] */
  forward(x: Tensor, c: Tensor): Tensor {
    return tf.tidy(() => {
      const [shift, scale] = tf.split(this.modulation.forward(c), 2, -1);
      return this.linear.forward(modulate(this.norm.forward(x), shift, scale));
    });
  }
}
