/**
 * HF `ViTMAEModel`: conv patch embedding plus the fixed 2-D sin-cos position table, optional
 * random masking by `noise` (HF shuffles even at mask ratio 0), [CLS] + its position row
 * prepended, post-LN-free ViT layers (`layernorm_before` / `layernorm_after`), final `layernorm`.
 * Without `noise` the patches stay in natural order and none is masked (the encoder use).
 */
import { tf, type Tensor, type Variable, Module, ModuleList, LayerNorm, PatchEmbed } from '@raev2/core';
import { PreNormLayer, ViTAttention, plainMlp, runLayers } from '../vit/layers.js';
import { interpolatePosTable } from '../vit/interpolate.js';
import { checkChannels, cropToPatches, type HFVisionModel, type ViTForwardOptions, type ViTOutput } from '../vit/model.js';
import { randomMasking } from './masking.js';
import type { ViTMAEConfig } from './config.js';

export class ViTMAEModel extends Module implements HFVisionModel {
  readonly modelType = 'vit_mae';
  readonly numLayers: number;
  readonly hiddenSize: number;
  readonly patchSize: number;
  readonly imageSize: [number, number];
  readonly prefixTokens = 1;
  readonly finalNormEps: number;
  readonly clsToken: Variable;
  readonly positionEmbeddings: Variable;
  readonly patchEmbeddings: PatchEmbed;
  readonly layers: ModuleList<PreNormLayer>;
  readonly layernorm: LayerNorm;

  constructor(readonly config: ViTMAEConfig) {
    super();
    const c = config;
    const d = c.hidden_size;
    const grid = Math.floor(c.image_size / c.patch_size);
    this.numLayers = c.num_hidden_layers;
    this.hiddenSize = d;
    this.patchSize = c.patch_size;
    this.imageSize = [c.image_size, c.image_size];
    this.finalNormEps = c.layer_norm_eps;
    this.clsToken = this.param('embeddings.cls_token', tf.zeros([1, 1, d]));
    // fixed (requires_grad=False) but saved in the checkpoint, so it is loaded, not recomputed
    this.positionEmbeddings = this.param('embeddings.position_embeddings', tf.zeros([1, grid * grid + 1, d]), false);
    this.patchEmbeddings = this.child('embeddings.patch_embeddings.projection', new PatchEmbed(c.num_channels, d, c.patch_size));
    const layers = Array.from({ length: c.num_hidden_layers }, () => new PreNormLayer({
      dim: d,
      eps: c.layer_norm_eps,
      attention: new ViTAttention(d, c.num_attention_heads, {
        names: { q: 'attention.query', k: 'attention.key', v: 'attention.value', o: 'output.dense' },
        qBias: c.qkv_bias, kBias: c.qkv_bias, vBias: c.qkv_bias,
      }),
      mlp: plainMlp(d, c.intermediate_size, c.hidden_act, ['intermediate.dense', 'output.dense']),
      names: { norm1: 'layernorm_before', attention: 'attention', norm2: 'layernorm_after', mlp: '' },
    }));
    this.layers = this.child('encoder.layer', new ModuleList(layers));
    this.layernorm = this.child('layernorm', new LayerNorm(d, c.layer_norm_eps));
  }

  /** Position rows [1, 1 + gh·gw, D]: the table, or its patch part resized bicubically (HF `interpolate_pos_encoding`). */
  positionEncoding(gh: number, gw: number, height: number, width: number): Tensor {
    return tf.tidy(() => {
      const table = this.positionEmbeddings;
      if (gh * gw === (table.shape as number[])[1] - 1 && height === width) return table.clone();
      const resized = interpolatePosTable(table.slice([0, 1, 0], [1, -1, -1]), [gh, gw], { mode: 'bicubic' });
      return tf.concat([table.slice([0, 0, 0], [1, 1, -1]), resized], 1);
    });
  }

  /** pixel values NCHW → hidden states (extras: `mask` [B, N], `ids_restore` [B, N] int32). */
  forward(pixelValues: Tensor, opts: ViTForwardOptions = {}): ViTOutput {
    checkChannels(pixelValues, this.config.num_channels, this.modelType);
    const [b, , height, width] = pixelValues.shape;
    const [size] = this.imageSize;
    if (!opts.interpolatePosEncoding && (height !== size || width !== size)) {
      throw new Error(`vit_mae: input ${height}×${width} differs from the model's ${size}×${size}; pass interpolatePosEncoding: true`);
    }
    const gh = Math.floor(height / this.patchSize), gw = Math.floor(width / this.patchSize);
    const n = gh * gw;
    const out = tf.tidy(() => {
      const pos = this.positionEncoding(gh, gw, height, width);
      const patches = this.patchEmbeddings.forward(cropToPatches(pixelValues, this.patchSize), 'NCHW').add(pos.slice([0, 1, 0], [1, -1, -1]));
      let kept = patches, mask: Tensor, idsRestore: Tensor;
      if (opts.noise) {
        ({ kept, mask, idsRestore } = randomMasking(patches, opts.noise, opts.maskRatio ?? this.config.mask_ratio));
      } else {
        if (opts.maskRatio) throw new Error('vit_mae: masking needs `noise` (a [B, N] uniform tensor) to choose the patches');
        mask = tf.zeros([b, n]);
        idsRestore = tf.tile(tf.range(0, n, 1, 'int32').reshape([1, n]), [b, 1]);
      }
      const cls = tf.broadcastTo(this.clsToken.add(pos.slice([0, 0, 0], [1, 1, -1])), [b, 1, this.hiddenSize]);
      const hiddenStates = runLayers(this.layers, tf.concat([cls, kept], 1));
      const lastHiddenState = this.layernorm.forward(hiddenStates[hiddenStates.length - 1]);
      return { hiddenStates, lastHiddenState, mask, idsRestore };
    });
    return {
      hiddenStates: out.hiddenStates,
      lastHiddenState: out.lastHiddenState,
      poolerOutput: null,
      grid: [gh, gw],
      prefixTokens: 1,
      extras: { mask: out.mask, ids_restore: out.idsRestore },
    };
  }
}
