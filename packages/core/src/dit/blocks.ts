/**
 * The layers of the DiT^DH (docs/method.md §2.1), in the order a forward pass meets them:
 *   patch embedding     tokens [B, h·w, C] → [B, (h/p)·(w/p), D] (timm PatchEmbed on the latent grid)
 *   attention           softmax(RoPE(qk-norm(q))·RoPE(qk-norm(k))ᵀ/√d_h + mask)·v, heads merged, `proj`
 *   block (no adaLN)    h = x + attn(RMSNorm(x)); h + SwiGLU(RMSNorm(h))           (RAEv2 body)
 *   adaLN-Zero block    (shift, scale, gate)×(attn, mlp) = Linear(SiLU(c)).chunk(6):
 *                       h = x + g₁·attn(mod(RMSNorm(x))); h + g₂·mlp(mod(RMSNorm(h)))  (DDT head, RAE v1 body)
 *   final layer         Linear(RMSNorm(x)·(1 + scale) + shift), (shift, scale) = Linear(SiLU(c))
 *   unpatchify          [B, n, p·p·C] → tokens [B, h·w, C]
 * SwiGLU hidden width int(2/3·r·D). Key layouts: RAE v1 (`qkv`, `mlp.w12/w3`, `adaLN_modulation`)
 * or RAEv2 (`q/k/v`, `mlp.w1/w2/w3`, `adaln_modulation`).
 */
import { tf, type Tensor } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { RMSNorm } from '../nn/norm.js';
import { SwiGLU } from '../nn/mlp.js';
import { silu } from '../nn/activations.js';
import { gate, modulate } from '../nn/modulate.js';
import { PatchEmbed, unpatchify } from '../nn/patch.js';
import { mergeHeads, scaledDotProductAttention, splitHeads } from '../nn/attention.js';
import type { Rope } from '../nn/rope.js';

// ---------------------------------------------------------------- patch embedding

/** timm `PatchEmbed` applied to a latent token grid; key `proj.weight` [D, C, p, p], `proj.bias`. */
export class LatentPatchEmbed extends Module {
  readonly proj: PatchEmbed;
  constructor(readonly inChannels: number, readonly dim: number, readonly patch: number, readonly gridH: number, readonly gridW: number, rng?: Rng) {
    super();
    this.proj = this.child('proj', new PatchEmbed(inChannels, dim, patch, { rng }));
  }
  get numPatches(): number {
    return (this.gridH / this.patch) * (this.gridW / this.patch);
  }
  /** [B, h·w, C] → [B, (h/p)·(w/p), D] */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      if (this.patch === 1) return this.proj.forward(x.reshape([x.shape[0], 1, -1, this.inChannels]));
      return this.proj.forward(x.reshape([x.shape[0], this.gridH, this.gridW, this.inChannels]));
    });
  }
}

/** [B, (h/p)·(w/p), p·p·C] with rows ordered (p_row, p_col, C) → tokens [B, h·w, C]. */
export function unpatchifyTokens(x: Tensor, gridH: number, gridW: number, p: number, channels: number): Tensor {
  return tf.tidy(() => {
    if (p === 1) return x;
    return unpatchify(x, gridH / p, gridW / p, p, channels).reshape([x.shape[0], gridH * gridW, channels]);
  });
}

/** NCHW latents [B, C, h, w] (upstream layout) → tokens [B, h·w, C]. */
export function tokensFromNCHW(x: Tensor): Tensor {
  return tf.tidy(() => {
    const [b, c, h, w] = x.shape;
    return x.transpose([0, 2, 3, 1]).reshape([b, h * w, c]);
  });
}

/** tokens [B, h·w, C] → NCHW [B, C, h, w]. */
export function tokensToNCHW(x: Tensor, h: number, w: number): Tensor {
  return tf.tidy(() => {
    const [b, , c] = x.shape;
    return x.reshape([b, h, w, c]).transpose([0, 3, 1, 2]);
  });
}

// ---------------------------------------------------------------- attention

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

// ---------------------------------------------------------------- blocks and final layer

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
