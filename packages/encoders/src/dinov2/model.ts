/**
 * HF `Dinov2Model` and `Dinov2WithRegistersModel`: conv patch embedding, [CLS] (+ registers),
 * learned position table resized bicubically to the input grid, pre-norm layers with layer scale
 * (GELU MLP or SwiGLU), final `layernorm`; pooler = CLS of `last_hidden_state`.
 */
import { tf, type Tensor, type Variable, Module, ModuleList, LayerNorm, PatchEmbed } from '@raev2/core';
import { PreNormLayer, ViTAttention, SwiGLUFFN, plainMlp, runLayers } from '../vit/layers.js';
import { interpolatePosTable } from '../vit/interpolate.js';
import { checkChannels, cropToPatches, type HFVisionModel, type ViTForwardOptions, type ViTOutput } from '../vit/model.js';
import type { Dinov2Config } from './config.js';

export class Dinov2Model extends Module implements HFVisionModel {
  readonly modelType: string;
  readonly numLayers: number;
  readonly hiddenSize: number;
  readonly patchSize: number;
  readonly imageSize: [number, number];
  readonly prefixTokens: number;
  readonly finalNormEps: number;
  /** Registers are inserted after the position embedding (Dinov2WithRegistersModel only). */
  readonly numRegisters: number;
  readonly clsToken: Variable;
  readonly registerTokens: Variable | null;
  readonly positionEmbeddings: Variable;
  readonly patchEmbeddings: PatchEmbed;
  readonly layers: ModuleList<PreNormLayer>;
  readonly layernorm: LayerNorm;

  constructor(readonly config: Dinov2Config) {
    super();
    const c = config;
    const withRegisters = c.model_type === 'dinov2_with_registers';
    this.modelType = c.model_type;
    this.numLayers = c.num_hidden_layers;
    this.hiddenSize = c.hidden_size;
    this.patchSize = c.patch_size;
    this.imageSize = [c.image_size, c.image_size];
    this.numRegisters = withRegisters ? c.num_register_tokens : 0;
    this.prefixTokens = 1 + this.numRegisters;
    this.finalNormEps = c.layer_norm_eps;
    const d = c.hidden_size;
    const grid = Math.floor(c.image_size / c.patch_size);
    this.clsToken = this.param('embeddings.cls_token', tf.zeros([1, 1, d]));
    if (c.use_mask_token || withRegisters) this.param('embeddings.mask_token', tf.zeros([1, d]));
    this.registerTokens = withRegisters ? this.param('embeddings.register_tokens', tf.zeros([1, this.numRegisters, d])) : null;
    this.positionEmbeddings = this.param('embeddings.position_embeddings', tf.zeros([1, grid * grid + 1, d]));
    this.patchEmbeddings = this.child('embeddings.patch_embeddings.projection', new PatchEmbed(c.num_channels, d, c.patch_size));
    const layers = Array.from({ length: c.num_hidden_layers }, () => new PreNormLayer({
      dim: d,
      eps: c.layer_norm_eps,
      attention: new ViTAttention(d, c.num_attention_heads, {
        names: { q: 'attention.query', k: 'attention.key', v: 'attention.value', o: 'output.dense' },
        qBias: c.qkv_bias, kBias: c.qkv_bias, vBias: c.qkv_bias,
      }),
      mlp: c.use_swiglu_ffn ? new SwiGLUFFN(d, c.mlp_ratio) : plainMlp(d, Math.floor(d * c.mlp_ratio), c.hidden_act),
      names: { norm1: 'norm1', attention: 'attention', norm2: 'norm2', mlp: 'mlp', layerScale1: 'layer_scale1', layerScale2: 'layer_scale2' },
      layerScaleValue: c.layerscale_value,
    }));
    this.layers = this.child('encoder.layer', new ModuleList(layers));
    this.layernorm = this.child('layernorm', new LayerNorm(d, c.layer_norm_eps));
  }

  /** Position rows for a (gh, gw) grid [1, 1 + gh·gw, D]: the table as is, or its patch part resized (bicubic; antialiased with registers). */
  positionEncoding(gh: number, gw: number, height: number, width: number): Tensor {
    return tf.tidy(() => {
      const table = this.positionEmbeddings;
      // HF keeps the table only when the patch count matches AND the image is square
      if (gh * gw === (table.shape as number[])[1] - 1 && height === width) return table.clone();
      const cls = table.slice([0, 0, 0], [1, 1, -1]);
      const patches = table.slice([0, 1, 0], [1, -1, -1]);
      const resized = interpolatePosTable(patches, [gh, gw], { mode: 'bicubic', antialias: this.modelType === 'dinov2_with_registers' });
      return tf.concat([cls, resized], 1);
    });
  }

  /** pixel values NCHW → hidden states; DINOv2 resizes its position table for any input size. */
  forward(pixelValues: Tensor, _opts: ViTForwardOptions = {}): ViTOutput {
    checkChannels(pixelValues, this.config.num_channels, this.modelType);
    const [b, , height, width] = pixelValues.shape;
    const gh = Math.floor(height / this.patchSize), gw = Math.floor(width / this.patchSize);
    const out = tf.tidy(() => {
      const patches = this.patchEmbeddings.forward(cropToPatches(pixelValues, this.patchSize), 'NCHW'); // [B, N, D]
      let x = tf.concat([tf.broadcastTo(this.clsToken, [b, 1, this.hiddenSize]), patches], 1);
      x = x.add(this.positionEncoding(gh, gw, height, width));
      if (this.registerTokens) {
        const regs = tf.broadcastTo(this.registerTokens, [b, this.numRegisters, this.hiddenSize]);
        x = tf.concat([x.slice([0, 0, 0], [-1, 1, -1]), regs, x.slice([0, 1, 0], [-1, -1, -1])], 1);
      }
      const hiddenStates = runLayers(this.layers, x);
      const lastHiddenState = this.layernorm.forward(hiddenStates[hiddenStates.length - 1]);
      const poolerOutput = lastHiddenState.slice([0, 0, 0], [-1, 1, -1]).reshape([b, this.hiddenSize]);
      return { hiddenStates, lastHiddenState, poolerOutput };
    });
    return { ...out, grid: [gh, gw], prefixTokens: this.prefixTokens, extras: {} };
  }
}
