/**
 * DiT^DH self-attention: RMS qk-norm over the head dim, 2-D RoPE, an optional additive key mask.
 * Two key layouts: fused `qkv` (RAE v1 `NormAttention`) or separate `q`, `k`, `v` (RAEv2).
 */
import { tf, type Tensor } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { RMSNorm } from '../nn/norm.js';
import { mergeHeads, scaledDotProductAttention, splitHeads } from '../nn/attention.js';
import type { Rope } from '../nn/rope.js';

export interface AttentionOptions {
  /** One `qkv` linear (RAE v1) instead of `q`, `k`, `v` (RAEv2). */
  fusedQkv?: boolean;
  /** RMSNorm (eps 1e-6) on q and k per head (`q_norm`, `k_norm`). */
  qkNorm?: boolean;
  rng?: Rng;
}

export class DiTAttention extends Module {
  readonly headDim: number;
  readonly qkv: Linear | null = null;
  readonly q: Linear | null = null;
  readonly k: Linear | null = null;
  readonly v: Linear | null = null;
  readonly qNorm: RMSNorm | null = null;
  readonly kNorm: RMSNorm | null = null;
  readonly proj: Linear;

  constructor(readonly dim: number, readonly heads: number, opts: AttentionOptions = {}) {
    super();
    if (dim % heads !== 0) throw new Error(`attention width ${dim} is not divisible by ${heads} heads`);
    this.headDim = dim / heads;
    const rng = opts.rng;
    if (opts.fusedQkv) {
      this.qkv = this.child('qkv', new Linear(dim, 3 * dim, { rng }));
    } else {
      this.q = this.child('q', new Linear(dim, dim, { rng }));
      this.k = this.child('k', new Linear(dim, dim, { rng }));
      this.v = this.child('v', new Linear(dim, dim, { rng }));
    }
    if (opts.qkNorm) {
      this.qNorm = this.child('q_norm', new RMSNorm(this.headDim));
      this.kNorm = this.child('k_norm', new RMSNorm(this.headDim));
    }
    this.proj = this.child('proj', new Linear(dim, dim, { rng }));
  }

  /** x [B, N, D], rope over N (or null), mask additive [B, 1, 1, N] (or null) → [B, N, D]. */
  forward(x: Tensor, rope: Rope | null, mask: Tensor | null = null): Tensor {
    return tf.tidy(() => {
      let q: Tensor, k: Tensor, v: Tensor;
      if (this.qkv) {
        // torch: reshape(B, N, 3, H, Dh): the fused output is [q | k | v] along channels
        [q, k, v] = tf.split(this.qkv.forward(x), 3, -1).map((t) => splitHeads(t, this.heads));
      } else {
        q = splitHeads(this.q!.forward(x), this.heads);
        k = splitHeads(this.k!.forward(x), this.heads);
        v = splitHeads(this.v!.forward(x), this.heads);
      }
      if (this.qNorm) q = this.qNorm.forward(q);
      if (this.kNorm) k = this.kNorm.forward(k);
      if (rope) {
        q = rope.forward(q);
        k = rope.forward(k);
      }
      return this.proj.forward(mergeHeads(scaledDotProductAttention(q, k, v, mask)));
    });
  }
}
