/**
 * HF `CLIPVisionModel` (`vision_model.*` keys): bias-free conv patch embedding, `class_embedding`
 * vector as CLS, learned position table (bicubically resized with `interpolatePosEncoding`),
 * `pre_layrnorm` (its output is hidden_states[0]), pre-norm layers with quick-GELU, no final norm on
 * the sequence; pooler = `post_layernorm`(CLS).
 */
import { tf, type Tensor, type Variable, Module, ModuleList, LayerNorm, PatchEmbed } from '@raev2/core';
import { PreNormLayer, ViTAttention, plainMlp, runLayers } from '../vit/layers.js';
import { interpolatePosTable } from '../vit/interpolate.js';
import { checkChannels, cropToPatches, type HFVisionModel, type ViTForwardOptions, type ViTOutput } from '../vit/model.js';
import type { ClipVisionConfig } from './config.js';

const P = 'vision_model.';

export class ClipVisionModel extends Module implements HFVisionModel {
  readonly modelType = 'clip_vision_model';
  readonly numLayers: number;
  readonly hiddenSize: number;
  readonly patchSize: number;
  readonly imageSize: [number, number];
  readonly prefixTokens = 1;
  readonly finalNormEps: number;
  readonly classEmbedding: Variable;
  readonly positionEmbedding: Variable;
  readonly patchEmbedding: PatchEmbed;
  readonly preLayernorm: LayerNorm;
  readonly layers: ModuleList<PreNormLayer>;
  readonly postLayernorm: LayerNorm;

  constructor(readonly config: ClipVisionConfig) {
    super();
    const c = config;
    const d = c.hidden_size;
    const grid = Math.floor(c.image_size / c.patch_size);
    this.numLayers = c.num_hidden_layers;
    this.hiddenSize = d;
    this.patchSize = c.patch_size;
    this.imageSize = [c.image_size, c.image_size];
    this.finalNormEps = c.layer_norm_eps;
    this.classEmbedding = this.param(`${P}embeddings.class_embedding`, tf.zeros([d]));
    this.patchEmbedding = this.child(`${P}embeddings.patch_embedding`, new PatchEmbed(c.num_channels, d, c.patch_size, { bias: false }));
    this.positionEmbedding = this.param(`${P}embeddings.position_embedding.weight`, tf.zeros([grid * grid + 1, d]));
    this.preLayernorm = this.child(`${P}pre_layrnorm`, new LayerNorm(d, c.layer_norm_eps));
    const layers = Array.from({ length: c.num_hidden_layers }, () => new PreNormLayer({
      dim: d,
      eps: c.layer_norm_eps,
      attention: new ViTAttention(d, c.num_attention_heads, { names: { q: 'q_proj', k: 'k_proj', v: 'v_proj', o: 'out_proj' } }),
      mlp: plainMlp(d, c.intermediate_size, c.hidden_act),
      names: { norm1: 'layer_norm1', attention: 'self_attn', norm2: 'layer_norm2', mlp: 'mlp' },
    }));
    this.layers = this.child(`${P}encoder.layers`, new ModuleList(layers));
    this.postLayernorm = this.child(`${P}post_layernorm`, new LayerNorm(d, c.layer_norm_eps));
  }

  /** Position rows [1, 1 + gh·gw, D]: the table, or its patch part resized bicubically. */
  positionEncoding(gh: number, gw: number, height: number, width: number): Tensor {
    return tf.tidy(() => {
      const table = this.positionEmbedding.expandDims(0);
      if (gh * gw === (table.shape as number[])[1] - 1 && height === width) return table;
      const resized = interpolatePosTable(table.slice([0, 1, 0], [1, -1, -1]), [gh, gw], { mode: 'bicubic' });
      return tf.concat([table.slice([0, 0, 0], [1, 1, -1]), resized], 1);
    });
  }

  /** pixel values NCHW → hidden states; other sizes than `image_size` need `interpolatePosEncoding`. */
  forward(pixelValues: Tensor, opts: ViTForwardOptions = {}): ViTOutput {
    checkChannels(pixelValues, this.config.num_channels, 'clip_vision_model');
    const [b, , height, width] = pixelValues.shape;
    const [size] = this.imageSize;
    if (!opts.interpolatePosEncoding && (height !== size || width !== size)) {
      throw new Error(`clip_vision_model: input ${height}×${width} differs from the model's ${size}×${size}; pass interpolatePosEncoding: true`);
    }
    const gh = Math.floor(height / this.patchSize), gw = Math.floor(width / this.patchSize);
    const out = tf.tidy(() => {
      const patches = this.patchEmbedding.forward(cropToPatches(pixelValues, this.patchSize), 'NCHW');
      const cls = tf.broadcastTo(this.classEmbedding.reshape([1, 1, this.hiddenSize]), [b, 1, this.hiddenSize]);
      const x = this.preLayernorm.forward(tf.concat([cls, patches], 1).add(this.positionEncoding(gh, gw, height, width)));
      const hiddenStates = runLayers(this.layers, x);
      const lastHiddenState = hiddenStates[hiddenStates.length - 1];
      const poolerOutput = this.postLayernorm.forward(lastHiddenState.slice([0, 0, 0], [-1, 1, -1]).reshape([b, this.hiddenSize]));
      return { hiddenStates, poolerOutput };
    });
    return { hiddenStates: out.hiddenStates, lastHiddenState: out.hiddenStates[this.numLayers], poolerOutput: out.poolerOutput, grid: [gh, gw], prefixTokens: 1, extras: {} };
  }
}
