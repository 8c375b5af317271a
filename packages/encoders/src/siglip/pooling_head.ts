/**
 * SigLIP's multihead attention pooling head (`head.*`): a learned `probe` query attends over the
 * tokens through `nn.MultiheadAttention` (`in_proj_weight` = q, k, v stacked), then
 * `x + mlp(layernorm(x))`; the pooled vector is the (only) query's output.
 */
import { tf, type Tensor, type Variable, Module, Linear, LayerNorm, Mlp, activation, splitHeads, mergeHeads, scaledDotProductAttention } from '@raev2/core';
import type { SiglipTowerShape } from './layers.js';

/** `torch.nn.MultiheadAttention` with packed input projection (keys `in_proj_weight`, `in_proj_bias`, `out_proj`). */
export class MultiheadAttention extends Module {
  readonly in_proj_weight: Variable;
  readonly in_proj_bias: Variable;
  readonly out_proj: Linear;
  constructor(readonly dim: number, readonly heads: number) {
    super();
    this.in_proj_weight = this.param('in_proj_weight', tf.zeros([3 * dim, dim]));
    this.in_proj_bias = this.param('in_proj_bias', tf.zeros([3 * dim]));
    this.out_proj = this.child('out_proj', new Linear(dim, dim, { init: 'zeros' }));
  }
  /** query [B, Nq, D], key = value [B, Nk, D], additive mask [B, 1, 1, Nk] or null → [B, Nq, D] */
  forward(query: Tensor, kv: Tensor, mask: Tensor | null): Tensor {
    return tf.tidy(() => {
      const d = this.dim;
      const [wq, wk, wv] = tf.split(this.in_proj_weight, 3, 0);
      const [bq, bk, bv] = tf.split(this.in_proj_bias, 3, 0);
      const proj = (x: Tensor, w: Tensor, b: Tensor) => {
        const [bs, n] = x.shape;
        return splitHeads(tf.matMul(x.reshape([bs * n, d]), w, false, true).add(b).reshape([bs, n, d]), this.heads);
      };
      const o = scaledDotProductAttention(proj(query, wq, bq), proj(kv, wk, bk), proj(kv, wv, bv), mask);
      return this.out_proj.forward(mergeHeads(o));
    });
  }
}

export class SiglipMultiheadAttentionPoolingHead extends Module {
  readonly probe: Variable;
  readonly attention: MultiheadAttention;
  readonly layernorm: LayerNorm;
  readonly mlp: Mlp;
  constructor(c: SiglipTowerShape) {
    super();
    this.probe = this.param('probe', tf.zeros([1, 1, c.hidden_size]));
    this.attention = this.child('attention', new MultiheadAttention(c.hidden_size, c.num_attention_heads));
    this.layernorm = this.child('layernorm', new LayerNorm(c.hidden_size, c.layer_norm_eps));
    this.mlp = this.child('mlp', new Mlp(c.hidden_size, c.intermediate_size, activation(c.hidden_act), { init: 'zeros' }));
  }
  /** tokens [B, N, D], additive key mask [B, 1, 1, N] or null → pooled [B, D] */
  forward(tokens: Tensor, mask: Tensor | null): Tensor {
    return tf.tidy(() => {
      const b = tokens.shape[0];
      const probe = tf.tile(this.probe, [b, 1, 1]);
      const x = this.attention.forward(probe, tokens, mask);
      const y = x.add(this.mlp.forward(this.layernorm.forward(x)));
      return y.reshape([b, -1]);
    });
  }
}
