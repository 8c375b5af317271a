/**
 * The SigLIP transformer encoder (shared by the vision and text towers of SigLIP and SigLIP-2):
 * pre-LN blocks `layer_norm1 → self_attn (q/k/v/out_proj) → + → layer_norm2 → mlp (fc1/fc2) → +`,
 * HF key names, eager attention with an optional additive key mask.
 */
import { tf, type Tensor, type Variable, Module, ModuleList, Linear, LayerNorm, Mlp, activation, splitHeads, mergeHeads, scaledDotProductAttention } from '@raev2/core';

/** Shape of a tower's transformer (the subset of its config the encoder needs). */
export interface SiglipTowerShape {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  hidden_act: string;
  layer_norm_eps: number;
}

// Weights always come from a checkpoint, so layers start at zero instead of spending time on a random init.
const ZERO = { init: 'zeros' } as const;

export class SiglipAttention extends Module {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly out_proj: Linear;
  constructor(readonly dim: number, readonly heads: number) {
    super();
    this.k_proj = this.child('k_proj', new Linear(dim, dim, ZERO));
    this.v_proj = this.child('v_proj', new Linear(dim, dim, ZERO));
    this.q_proj = this.child('q_proj', new Linear(dim, dim, ZERO));
    this.out_proj = this.child('out_proj', new Linear(dim, dim, ZERO));
  }
  /** x [B, N, D], mask additive [B, 1, 1, N] or null → [B, N, D] */
  forward(x: Tensor, mask: Tensor | null): Tensor {
    return tf.tidy(() => {
      const q = splitHeads(this.q_proj.forward(x), this.heads);
      const k = splitHeads(this.k_proj.forward(x), this.heads);
      const v = splitHeads(this.v_proj.forward(x), this.heads);
      return this.out_proj.forward(mergeHeads(scaledDotProductAttention(q, k, v, mask)));
    });
  }
}

export class SiglipEncoderLayer extends Module {
  readonly layer_norm1: LayerNorm;
  readonly self_attn: SiglipAttention;
  readonly layer_norm2: LayerNorm;
  readonly mlp: Mlp;
  constructor(c: SiglipTowerShape) {
    super();
    this.layer_norm1 = this.child('layer_norm1', new LayerNorm(c.hidden_size, c.layer_norm_eps));
    this.self_attn = this.child('self_attn', new SiglipAttention(c.hidden_size, c.num_attention_heads));
    this.layer_norm2 = this.child('layer_norm2', new LayerNorm(c.hidden_size, c.layer_norm_eps));
    this.mlp = this.child('mlp', new Mlp(c.hidden_size, c.intermediate_size, activation(c.hidden_act), ZERO));
  }
  /** [B, N, D] → [B, N, D] */
  forward(x: Tensor, mask: Tensor | null): Tensor {
    return tf.tidy(() => {
      const h = x.add(this.self_attn.forward(this.layer_norm1.forward(x), mask));
      return h.add(this.mlp.forward(this.layer_norm2.forward(h)));
    });
  }
}

/** `encoder.layers.*` */
export class SiglipEncoder extends Module {
  readonly layers: ModuleList<SiglipEncoderLayer>;
  constructor(c: SiglipTowerShape) {
    super();
    this.layers = this.child('layers', new ModuleList(Array.from({ length: c.num_hidden_layers }, () => new SiglipEncoderLayer(c))));
  }
  /** embeddings [B, N, D] → [embeddings (cloned), output of block 0, …, output of block L−1]; the caller owns them all. */
  forward(embeddings: Tensor, mask: Tensor | null): Tensor[] {
    const states = [embeddings.clone()];
    for (const layer of this.layers) states.push(layer.forward(states[states.length - 1], mask));
    return states;
  }
}

/** `nn.Embedding`-style lookup table (`weight` [num, dim]); gather, since the towers are used frozen. */
export class Embedding extends Module {
  readonly weight: Variable;
  constructor(readonly num: number, readonly dim: number) {
    super();
    this.weight = this.param('weight', tf.zeros([num, dim]));
  }
  /** ids int32 [...] → [..., dim] */
  forward(ids: Tensor): Tensor {
    return tf.tidy(() => tf.gather(this.weight, ids.toInt()));
  }
}
