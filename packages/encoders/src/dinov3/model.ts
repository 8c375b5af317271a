/**
 * HF `DINOv3ViTModel`: conv patch embedding, [CLS] + registers (no position table), pre-norm
 * layers whose attention applies 2-D RoPE to the patch tokens, layer scale, GELU MLP or gated MLP,
 * final `norm`; pooler = CLS of `last_hidden_state`.
 */
import { tf, type Tensor, type Variable, Module, ModuleList, LayerNorm, PatchEmbed, activation } from '@raev2/core';
import { GatedMlp, PreNormLayer, ViTAttention, plainMlp, runLayers } from '../vit/layers.js';
import { checkChannels, cropToPatches, type HFVisionModel, type ViTForwardOptions, type ViTOutput } from '../vit/model.js';
import { ropeRotate, ropeTables } from './rope.js';
import type { Dinov3Config } from './config.js';

export class Dinov3Model extends Module implements HFVisionModel {
  readonly modelType = 'dinov3_vit';
  readonly numLayers: number;
  readonly hiddenSize: number;
  readonly patchSize: number;
  readonly imageSize: [number, number];
  readonly prefixTokens: number;
  readonly finalNormEps: number;
  readonly clsToken: Variable;
  readonly registerTokens: Variable;
  readonly patchEmbeddings: PatchEmbed;
  readonly layers: ModuleList<PreNormLayer>;
  readonly norm: LayerNorm;

  constructor(readonly config: Dinov3Config) {
    super();
    const c = config;
    const d = c.hidden_size;
    this.numLayers = c.num_hidden_layers;
    this.hiddenSize = d;
    this.patchSize = c.patch_size;
    this.imageSize = [c.image_size, c.image_size];
    this.prefixTokens = 1 + c.num_register_tokens;
    this.finalNormEps = c.layer_norm_eps;
    this.clsToken = this.param('embeddings.cls_token', tf.zeros([1, 1, d]));
    this.param('embeddings.mask_token', tf.zeros([1, 1, d]));
    this.registerTokens = this.param('embeddings.register_tokens', tf.zeros([1, c.num_register_tokens, d]));
    this.patchEmbeddings = this.child('embeddings.patch_embeddings', new PatchEmbed(c.num_channels, d, c.patch_size));
    const act = activation(c.hidden_act);
    const layers = Array.from({ length: c.num_hidden_layers }, () => new PreNormLayer({
      dim: d,
      eps: c.layer_norm_eps,
      attention: new ViTAttention(d, c.num_attention_heads, {
        names: { q: 'q_proj', k: 'k_proj', v: 'v_proj', o: 'o_proj' },
        qBias: c.query_bias, kBias: c.key_bias, vBias: c.value_bias, oBias: c.proj_bias,
      }),
      mlp: c.use_gated_mlp ? new GatedMlp(d, c.intermediate_size, act, c.mlp_bias) : plainMlp(d, c.intermediate_size, c.hidden_act, ['up_proj', 'down_proj'], c.mlp_bias),
      names: { norm1: 'norm1', attention: 'attention', norm2: 'norm2', mlp: 'mlp', layerScale1: 'layer_scale1', layerScale2: 'layer_scale2' },
      layerScaleValue: c.layerscale_value,
    }));
    this.layers = this.child('layer', new ModuleList(layers));
    this.norm = this.child('norm', new LayerNorm(d, c.layer_norm_eps));
  }

  /** pixel values NCHW → hidden states; RoPE is computed for the input's grid, so any patch-multiple size works. */
  forward(pixelValues: Tensor, _opts: ViTForwardOptions = {}): ViTOutput {
    checkChannels(pixelValues, this.config.num_channels, this.modelType);
    const [b, , height, width] = pixelValues.shape;
    const gh = Math.floor(height / this.patchSize), gw = Math.floor(width / this.patchSize);
    const headDim = this.hiddenSize / this.config.num_attention_heads;
    const { cos, sin } = ropeTables(gh, gw, headDim, this.config.rope_theta);
    const out = tf.tidy(() => {
      const patches = this.patchEmbeddings.forward(cropToPatches(pixelValues, this.patchSize), 'NCHW'); // [B, N, D]
      const regs = this.config.num_register_tokens > 0 ? [tf.broadcastTo(this.registerTokens, [b, this.config.num_register_tokens, this.hiddenSize])] : [];
      const x = tf.concat([tf.broadcastTo(this.clsToken, [b, 1, this.hiddenSize]), ...regs, patches], 1);
      const rotate = ropeRotate(tf.tensor2d(cos, [gh * gw, headDim]), tf.tensor2d(sin, [gh * gw, headDim]));
      const hiddenStates = runLayers(this.layers, x, rotate);
      const lastHiddenState = this.norm.forward(hiddenStates[hiddenStates.length - 1]);
      const poolerOutput = lastHiddenState.slice([0, 0, 0], [-1, 1, -1]).reshape([b, this.hiddenSize]);
      return { hiddenStates, lastHiddenState, poolerOutput };
    });
    return { ...out, grid: [gh, gw], prefixTokens: this.prefixTokens, extras: {} };
  }
}
