/**
 * HF `SiglipVisionModel` (SigLIP 1): conv patch embedding (as a matmul), a learned position table
 * over the √N × √N grid (bicubic-resized for other input sizes), the SigLIP encoder,
 * `post_layernorm`, and the attention-pooling head. No CLS token: every token is a patch.
 */
import { tf, type Tensor, Module, LayerNorm, PatchEmbed } from '@raev2/core';
import type { SiglipVisionConfig } from './config.js';
import { Embedding, SiglipEncoder } from './layers.js';
import { SiglipMultiheadAttentionPoolingHead } from './pooling_head.js';
import { interpolatePosTable } from '../vit/interpolate.js';
import { checkChannels, cropToPatches, disposeViTOutput, type HFVisionModel, type ViTOutput } from '../vit/model.js';

/**
 * Outputs of a SigLIP vision tower (the HF families' `ViTOutput`): `hiddenStates` = [embeddings,
 * block 1 output, …, block L output] each [B, N, D] before `post_layernorm`; `lastHiddenState` =
 * post_layernorm(hiddenStates[L]); `poolerOutput` [B, D] from the attention-pooling head (null
 * without a head); `prefixTokens` 0. The caller disposes them (`disposeVisionOutput`).
 */
export type SiglipVisionOutput = ViTOutput;

export const disposeVisionOutput = (o: SiglipVisionOutput): void => disposeViTOutput(o);

export class SiglipVisionEmbeddings extends Module {
  readonly patch_embedding: PatchEmbed;
  readonly position_embedding: Embedding;
  /** Side of the square position grid. */
  readonly gridSide: number;
  constructor(readonly config: SiglipVisionConfig) {
    super();
    const { num_channels: c, hidden_size: d, patch_size: p, image_size: s } = config;
    this.gridSide = Math.floor(s / p);
    this.patch_embedding = this.child('patch_embedding', new PatchEmbed(c, d, p));
    this.position_embedding = this.child('position_embedding', new Embedding(this.gridSide * this.gridSide, d));
  }

  /** pixel values NCHW [B, C, H, W] → patch tokens + positions [B, ⌊H/p⌋·⌊W/p⌋, D] (like the stride-p conv, leftover pixels are dropped) */
  forward(pixelValues: Tensor, interpolatePosEncoding = false): Tensor {
    const { patch_size: p, num_channels: c } = this.config;
    checkChannels(pixelValues, c, 'SigLIP vision');
    const [, , hh, ww] = pixelValues.shape as number[];
    const h = Math.floor(hh / p), w = Math.floor(ww / p), side = this.gridSide;
    if (!interpolatePosEncoding && (h !== side || w !== side)) {
      throw new Error(`SigLIP vision input ${hh}×${ww} gives a ${h}×${w} patch grid but the position table is ${side}×${side} (image_size ${this.config.image_size}); pass interpolatePosEncoding to resize it`);
    }
    const same = h * w === side * side && hh === ww; // HF's test for using the table as is
    return tf.tidy(() => {
      const patches = this.patch_embedding.forward(cropToPatches(pixelValues, p), 'NCHW');
      const table = this.position_embedding.weight;
      // HF: F.interpolate(size=(h, w), mode='bicubic', align_corners=False), no antialias
      const pos = same ? table : interpolatePosTable(table.expandDims(0), [h, w], { mode: 'bicubic' });
      return patches.add(pos);
    });
  }
}

/** `vision_model.*` */
export class SiglipVisionTransformer extends Module {
  readonly embeddings: SiglipVisionEmbeddings;
  readonly encoder: SiglipEncoder;
  readonly post_layernorm: LayerNorm;
  readonly head: SiglipMultiheadAttentionPoolingHead | null;
  constructor(readonly config: SiglipVisionConfig) {
    super();
    this.embeddings = this.child('embeddings', new SiglipVisionEmbeddings(config));
    this.encoder = this.child('encoder', new SiglipEncoder(config));
    this.post_layernorm = this.child('post_layernorm', new LayerNorm(config.hidden_size, config.layer_norm_eps));
    this.head = config.vision_use_head ? this.child('head', new SiglipMultiheadAttentionPoolingHead(config)) : null;
  }

  forward(pixelValues: Tensor, opts: { interpolatePosEncoding?: boolean; withHead?: boolean } = {}): SiglipVisionOutput {
    const emb = this.embeddings.forward(pixelValues, opts.interpolatePosEncoding);
    const hiddenStates = this.encoder.forward(emb, null);
    emb.dispose();
    const lastHiddenState = this.post_layernorm.forward(hiddenStates[hiddenStates.length - 1]);
    const poolerOutput = this.head && opts.withHead !== false ? this.head.forward(lastHiddenState, null) : null;
    const p = this.config.patch_size;
    const grid: [number, number] = [Math.floor(pixelValues.shape[2]! / p), Math.floor(pixelValues.shape[3]! / p)];
    return { hiddenStates, lastHiddenState, poolerOutput, grid, prefixTokens: 0, extras: {} };
  }
}

/** HF `SiglipVisionModel`: state-dict keys `vision_model.*`. */
export class SiglipVisionModel extends Module implements HFVisionModel {
  readonly modelType = 'siglip_vision_model';
  readonly vision_model: SiglipVisionTransformer;
  readonly numLayers: number;
  readonly hiddenSize: number;
  readonly patchSize: number;
  readonly imageSize: [number, number];
  /** No CLS or register tokens. */
  readonly prefixTokens = 0;
  readonly finalNormEps: number;
  constructor(readonly config: SiglipVisionConfig) {
    super();
    this.vision_model = this.child('vision_model', new SiglipVisionTransformer(config));
    this.numLayers = config.num_hidden_layers;
    this.hiddenSize = config.hidden_size;
    this.patchSize = config.patch_size;
    this.imageSize = [config.image_size, config.image_size];
    this.finalNormEps = config.layer_norm_eps;
    this.eval();
  }
  /** pixel values NCHW [B, C, H, W] (normalised) → every hidden state, last_hidden_state, pooler_output. */
  forward(pixelValues: Tensor, opts: { interpolatePosEncoding?: boolean; withHead?: boolean } = {}): SiglipVisionOutput {
    return this.vision_model.forward(pixelValues, opts);
  }
}
