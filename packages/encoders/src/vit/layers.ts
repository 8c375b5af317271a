/**
 * Shared pieces of the HF ViT families: multi-head self-attention with separate q/k/v/o linears,
 * layer scale, the gated MLPs, and one pre-norm transformer layer
 * `x + ls1(attn(norm1(x)))` then `x + ls2(mlp(norm2(x)))`. Families pass their own HF child
 * names; a dotted name (`attention.query`) flattens to the same state-dict key as HF's nesting.
 */
import { tf, type Tensor, type Variable, Module, Linear, LayerNorm, Mlp, activation, splitHeads, mergeHeads, scaledDotProductAttention } from '@raev2/core';

// Weights always come from a checkpoint, so layers start at zero instead of spending time on a random init.
const ZERO = { init: 'zeros' } as const;

/** A token-wise feed-forward block [..., D] → [..., D]. */
export interface FeedForward extends Module {
  forward(x: Tensor): Tensor;
}

export interface AttentionOptions {
  /** Child names of the query, key, value and output projections. */
  names: { q: string; k: string; v: string; o: string };
  qBias?: boolean;
  kBias?: boolean;
  vBias?: boolean;
  oBias?: boolean;
}

/** Rotates query/key heads [B, H, N, Dh] (RoPE); identity when absent. */
export type RotateFn = (t: Tensor) => Tensor;

/** Eager multi-head self-attention: softmax(q·kᵀ/√Dh)·v. */
export class ViTAttention extends Module {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly o: Linear;
  constructor(readonly dim: number, readonly heads: number, opts: AttentionOptions) {
    super();
    if (dim % heads !== 0) throw new Error(`hidden size ${dim} is not divisible by ${heads} attention heads`);
    const { names } = opts;
    this.q = this.child(names.q, new Linear(dim, dim, { ...ZERO, bias: opts.qBias ?? true }));
    this.k = this.child(names.k, new Linear(dim, dim, { ...ZERO, bias: opts.kBias ?? true }));
    this.v = this.child(names.v, new Linear(dim, dim, { ...ZERO, bias: opts.vBias ?? true }));
    this.o = this.child(names.o, new Linear(dim, dim, { ...ZERO, bias: opts.oBias ?? true }));
  }

  /** x [B, N, D] → [B, N, D]; `rotate` is applied to q and k heads before the product. */
  forward(x: Tensor, rotate?: RotateFn): Tensor {
    return tf.tidy(() => {
      let q = splitHeads(this.q.forward(x), this.heads);
      let k = splitHeads(this.k.forward(x), this.heads);
      const v = splitHeads(this.v.forward(x), this.heads);
      if (rotate) {
        q = rotate(q);
        k = rotate(k);
      }
      return this.o.forward(mergeHeads(scaledDotProductAttention(q, k, v)));
    });
  }
}

/** Per-channel residual-branch scale (key `lambda1`, [D]). */
export class LayerScale extends Module {
  readonly lambda1: Variable;
  constructor(dim: number, value = 1) {
    super();
    this.lambda1 = this.param('lambda1', tf.fill([dim], value));
  }
  forward(x: Tensor): Tensor {
    return tf.mul(x, this.lambda1);
  }
}

/** act(gate(x)) · up(x) → down (DINOv3 `use_gated_mlp`; keys `gate_proj`, `up_proj`, `down_proj`). */
export class GatedMlp extends Module implements FeedForward {
  readonly gate: Linear;
  readonly up: Linear;
  readonly down: Linear;
  constructor(dim: number, hidden: number, readonly act: (x: Tensor) => Tensor, bias = true) {
    super();
    this.gate = this.child('gate_proj', new Linear(dim, hidden, { ...ZERO, bias }));
    this.up = this.child('up_proj', new Linear(dim, hidden, { ...ZERO, bias }));
    this.down = this.child('down_proj', new Linear(hidden, dim, { ...ZERO, bias }));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.down.forward(this.act(this.gate.forward(x)).mul(this.up.forward(x))));
  }
}

/**
 * DINOv2's SwiGLU FFN (`use_swiglu_ffn`; keys `weights_in` [2·h, D], `weights_out`):
 * silu(x₁)·x₂ with x₁, x₂ the two halves of weights_in(x); h = ⌊⌊D·mlp_ratio⌋·2/3 + 7⌋ rounded down to a multiple of 8.
 */
export class SwiGLUFFN extends Module implements FeedForward {
  readonly weightsIn: Linear;
  readonly weightsOut: Linear;
  constructor(dim: number, mlpRatio: number) {
    super();
    const hidden = Math.floor((Math.floor(Math.floor(dim * mlpRatio) * 2 / 3) + 7) / 8) * 8;
    this.weightsIn = this.child('weights_in', new Linear(dim, 2 * hidden, ZERO));
    this.weightsOut = this.child('weights_out', new Linear(hidden, dim, ZERO));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [x1, x2] = tf.split(this.weightsIn.forward(x), 2, -1);
      return this.weightsOut.forward(activation('silu')(x1).mul(x2));
    });
  }
}

/** fc1 → act → fc2 with HF names (`fc1`/`fc2`, or ViT's `intermediate.dense`/`output.dense`). */
export function plainMlp(dim: number, hidden: number, act: string, names: [string, string] = ['fc1', 'fc2'], bias = true): FeedForward {
  return new Mlp(dim, hidden, activation(act), { ...ZERO, names, bias });
}

export interface PreNormLayerOptions {
  dim: number;
  eps: number;
  attention: ViTAttention;
  mlp: FeedForward;
  /** Child names ('' for `mlp` puts its linears directly in the layer); layer-scale names only when the family has layer scale. */
  names: { norm1: string; attention: string; norm2: string; mlp: string; layerScale1?: string; layerScale2?: string };
  layerScaleValue?: number;
}

/** One pre-norm transformer layer with optional layer scale. */
export class PreNormLayer extends Module {
  readonly norm1: LayerNorm;
  readonly attention: ViTAttention;
  readonly ls1: LayerScale | null;
  readonly norm2: LayerNorm;
  readonly mlp: FeedForward;
  readonly ls2: LayerScale | null;
  constructor(o: PreNormLayerOptions) {
    super();
    const n = o.names;
    this.norm1 = this.child(n.norm1, new LayerNorm(o.dim, o.eps));
    this.attention = this.child(n.attention, o.attention);
    this.ls1 = n.layerScale1 ? this.child(n.layerScale1, new LayerScale(o.dim, o.layerScaleValue)) : null;
    this.norm2 = this.child(n.norm2, new LayerNorm(o.dim, o.eps));
    if (n.mlp === '') {
      // ViT nests the MLP linears directly in the layer (`intermediate.dense`, `output.dense`)
      for (const [name, sub] of o.mlp.namedChildren()) this.child(name, sub);
      this.mlp = o.mlp;
    } else this.mlp = this.child(n.mlp, o.mlp);
    this.ls2 = n.layerScale2 ? this.child(n.layerScale2, new LayerScale(o.dim, o.layerScaleValue)) : null;
  }

  /** x [B, N, D] → [B, N, D] */
  forward(x: Tensor, rotate?: RotateFn): Tensor {
    return tf.tidy(() => {
      let a = this.attention.forward(this.norm1.forward(x), rotate);
      if (this.ls1) a = this.ls1.forward(a);
      const h = x.add(a);
      let m = this.mlp.forward(this.norm2.forward(h));
      if (this.ls2) m = this.ls2.forward(m);
      return h.add(m);
    });
  }
}

/** Run layers in order; returns [x, out₁, …, out_L] (the input is not copied). */
export function runLayers(layers: Iterable<PreNormLayer>, x: Tensor, rotate?: RotateFn): Tensor[] {
  const states = [x];
  for (const layer of layers) states.push(layer.forward(states[states.length - 1], rotate));
  return states;
}
