/**
 * The GAN discriminator (docs/method.md, decoder losses): a frozen feature network (upstream: DINO ViT-S/8 blocks
 * 2, 5, 8, 11 + final; here any `FeatureExtractor`, e.g. MobileNetV2 blocks) with a small trainable
 * head per tapped layer producing one logit per token, as upstream's DinoDisc heads:
 *   head = conv1×1 → local norm → LeakyReLU(0.2); residual (conv_k → local norm → LeakyReLU)/√2; conv1×1 → 1
 * The convs are 1-D over the token sequence with circular padding (kernel k along the flattened
 * tokens, as upstream's Conv1d), written as shifted copies + one matmul (differentiable everywhere).
 * "Local norm" is upstream's BatchNormLocal: per sample and channel, normalised over tokens, affine.
 * Every conv of a head is spectrally normalised (upstream `using_spec_norm: true`): its weight is
 * `weight_orig` / σ with the power-iteration vectors `weight_u`, `weight_v` kept as buffers (so they are
 * saved in checkpoints); one power iteration per forward in training mode (D's own update), none in
 * eval mode (the generator's pass), as torch.
 */
import { tf, type Tensor, type Variable } from '../../runtime/tf.js';
import { Rng } from '../../runtime/rng.js';
import { Module, ModuleList } from '../../nn/module.js';
import { torchLinearDefault } from '../../nn/init.js';
import type { FeatureExtractor } from './perceptual.js';
import { initialSpectralVectors, powerIteration, spectralNormalize } from './spectral_norm.js';

/**
 * Conv1d over tokens: weight [out, in, k] (torch layout), bias [out], circular padding k/2. With
 * `spectralNorm` the weight is stored as `weight_orig` with buffers `weight_u` [out], `weight_v` [in·k]
 * (torch's spectral_norm key names) and used as weight_orig/σ.
 */
export class TokenConv1d extends Module {
  /** The trained weight (`weight`, or `weight_orig` under spectral norm). */
  readonly weight: Variable;
  readonly bias: Variable;
  constructor(readonly inCh: number, readonly outCh: number, readonly kernel: number, rng: Rng, readonly spectralNorm = false) {
    super();
    if (kernel % 2 !== 1) throw new Error(`TokenConv1d: kernel ${kernel} must be odd`);
    // torch Conv1d default init: U(±1/√(in·k)) for weight and bias
    this.weight = this.param(spectralNorm ? 'weight_orig' : 'weight', torchLinearDefault(rng, [outCh, inCh, kernel]));
    const bound = 1 / Math.sqrt(inCh * kernel);
    this.bias = this.param('bias', tf.tensor1d(rng.uniformArray(outCh, -bound, bound)));
    if (spectralNorm) {
      const { u, v } = initialSpectralVectors(outCh, inCh * kernel, rng);
      this.buffer('weight_u', u);
      this.buffer('weight_v', v);
    }
  }

  /** The weight the conv applies [out, in, k]: in training mode under spectral norm, after one power iteration. */
  effectiveWeight(): Tensor {
    if (!this.spectralNorm) return this.weight;
    if (this.training) {
      const { u, v } = powerIteration(this.weight, this.getBuffer('weight_u'));
      this.buffer('weight_u', u);
      this.buffer('weight_v', v);
    }
    return spectralNormalize(this.weight, this.getBuffer('weight_u'), this.getBuffer('weight_v'));
  }

  /** [B, T, C_in] → [B, T, C_out]; y_t = Σ_j W[:, :, j]·x_{(t + j − k//2) mod T} + b. */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [b, t, c] = x.shape;
      const r = (this.kernel - 1) / 2;
      const shifted: Tensor[] = [];
      for (let j = 0; j < this.kernel; j++) {
        const s = (((j - r) % t) + t) % t; // token t reads t + j − r (mod T)
        shifted.push(s === 0 ? x : tf.concat([x.slice([0, s, 0], [b, t - s, c]), x.slice([0, 0, 0], [b, s, c])], 1));
      }
      const cat = this.kernel === 1 ? x : tf.concat(shifted, 2); // [B, T, k·C] ordered (j, c)
      const w = this.effectiveWeight().transpose([2, 1, 0]).reshape([this.kernel * this.inCh, this.outCh]); // [(j, c), out]
      return tf.matMul(cat.reshape([b * t, this.kernel * c]), w).reshape([b, t, this.outCh]).add(this.bias);
    });
  }
}

/** Upstream BatchNormLocal: per sample and channel, normalise over tokens (population variance), then affine. */
export class LocalNorm extends Module {
  readonly weight: Variable;
  readonly bias: Variable;
  constructor(channels: number, readonly eps = 1e-6) {
    super();
    this.weight = this.param('weight', tf.ones([channels]));
    this.bias = this.param('bias', tf.zeros([channels]));
  }
  /** [B, T, C] → [B, T, C] */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, 1, true);
      return x.sub(mean).div(variance.add(this.eps).sqrt()).mul(this.weight).add(this.bias);
    });
  }
}

class ConvNormAct extends Module {
  readonly conv: TokenConv1d;
  readonly norm: LocalNorm;
  constructor(c: number, k: number, rng: Rng, sn: boolean) {
    super();
    this.conv = this.child('conv', new TokenConv1d(c, c, k, rng, sn));
    this.norm = this.child('norm', new LocalNorm(c));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => tf.leakyRelu(this.norm.forward(this.conv.forward(x)), 0.2));
  }
}

/** One head: tokens [B, T, C] → logits [B, T]. */
export class DiscHead extends Module {
  readonly first: ConvNormAct;
  readonly residual: ConvNormAct;
  readonly out: TokenConv1d;
  constructor(c: number, kernel: number, rng: Rng, spectralNorm = true) {
    super();
    this.first = this.child('first', new ConvNormAct(c, 1, rng, spectralNorm));
    this.residual = this.child('residual', new ConvNormAct(c, kernel, rng, spectralNorm));
    this.out = this.child('out', new TokenConv1d(c, 1, 1, rng, spectralNorm));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const h = this.first.forward(x);
      const r = h.add(this.residual.forward(h)).mul(Math.SQRT1_2);
      const [b, t] = x.shape;
      return this.out.forward(r).reshape([b, t]);
    });
  }
}

export interface DiscriminatorOptions {
  /** Channel width of each tapped feature map (the backbone's), in order. */
  channels: number[];
  /** Kernel of the residual conv over tokens (upstream 9 for ViT-S/8; odd). Default 3. */
  kernel?: number;
  /** Spectral norm on every head conv (upstream: on). Default true. */
  spectralNorm?: boolean;
  rng?: Rng;
}

/** Frozen backbone + trainable heads; `forward(images)` → logits [B, Σ_l T_l]. Module keys: `heads.<l>.…`. */
export class Discriminator extends Module {
  readonly heads: ModuleList<DiscHead>;
  constructor(private readonly backbone: FeatureExtractor, opts: DiscriminatorOptions) {
    super();
    const rng = opts.rng ?? new Rng(0);
    if (opts.channels.length === 0) throw new Error('Discriminator: no feature maps to tap');
    this.heads = this.child('heads', new ModuleList(opts.channels.map((c) => new DiscHead(c, opts.kernel ?? 3, rng, opts.spectralNorm ?? true))));
  }

  /** images NHWC [0,1] → per-token logits of every tapped layer, concatenated [B, Σ T_l]. */
  forward(images: Tensor): Tensor {
    return tf.tidy(() => {
      const feats = this.backbone(images);
      try {
        if (feats.length !== this.heads.length) throw new Error(`Discriminator: backbone gave ${feats.length} feature maps for ${this.heads.length} heads`);
        return tf.concat(feats.map((f, l) => {
          const tokens = f.rank === 4 ? f.reshape([f.shape[0], -1, f.shape[3]!]) : f; // NHWC maps → tokens
          return this.heads.at(l).forward(tokens);
        }), 1);
      } finally {
        for (const f of feats) f.dispose();
      }
    });
  }
}
