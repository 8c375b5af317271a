/**
 * SigLIP-2 NaFlex as a plain image tower (`HFVisionModel`): NCHW pixel values at any patch-multiple
 * size are cut into full-grid patch rows, so the NaFlex model runs unpadded at a fixed resolution —
 * what an RAE encoder needs (one token grid for the whole batch).
 */
import { tf, type Tensor, type EncoderOutput } from '@raev2/core';
import type { HFVisionModel, ViTForwardOptions, ViTOutput } from '../vit/model.js';
import type { Siglip2VisionModel, SpatialShapes } from './vision.js';

/** NCHW [B, C, H, W] → patch rows [B, (H/p)·(W/p), p·p·C] ordered (patch row, patch col, channel). */
export function naflexPatchRows(pixelValues: Tensor, patch: number): Tensor {
  return tf.tidy(() => {
    const [b, c, hh, ww] = pixelValues.shape as number[];
    const h = hh / patch, w = ww / patch;
    return pixelValues.transpose([0, 2, 3, 1]).reshape([b, h, patch, w, patch, c]).transpose([0, 1, 3, 2, 4, 5]).reshape([b, h * w, patch * patch * c]);
  });
}

export class Siglip2ImageTower implements HFVisionModel {
  readonly modelType = 'siglip2_vision_model';
  readonly numLayers: number;
  readonly hiddenSize: number;
  readonly patchSize: number;
  readonly imageSize: [number, number];
  readonly prefixTokens = 0;
  readonly finalNormEps: number;

  /** `side`: default input side in pixels (a multiple of the patch size). */
  constructor(readonly naflex: Siglip2VisionModel, side: number) {
    const c = naflex.config;
    if (side % c.patch_size !== 0) throw new Error(`SigLIP-2 image side ${side} is not a multiple of the patch size ${c.patch_size}`);
    this.numLayers = c.num_hidden_layers;
    this.hiddenSize = c.hidden_size;
    this.patchSize = c.patch_size;
    this.imageSize = [side, side];
    this.finalNormEps = c.layer_norm_eps;
  }

  /** pixel values NCHW [B, C, H, W] (normalised, H and W multiples of p) → all outputs on the full (H/p, W/p) grid. */
  forward(pixelValues: Tensor, _opts?: ViTForwardOptions): ViTOutput {
    const { patch_size: p, num_channels: ch } = this.naflex.config;
    if (pixelValues.rank !== 4 || pixelValues.shape[1] !== ch) throw new Error(`SigLIP-2: pixel values must be NCHW [B, ${ch}, H, W] (normalised), got [${pixelValues.shape}]`);
    const [b, , hh, ww] = pixelValues.shape as number[];
    if (hh % p !== 0 || ww % p !== 0) throw new Error(`SigLIP-2: input ${hh}×${ww} is not a multiple of the patch size ${p}`);
    const rows = naflexPatchRows(pixelValues, p);
    try {
      return this.naflex.forward(rows, Array.from({ length: b }, () => [hh / p, ww / p] as [number, number]));
    } finally {
      rows.dispose();
    }
  }

  /** The HF call on processor outputs (`pixel_values` rows, `spatial_shapes`, `pixel_attention_mask`). */
  forwardNaflex(pixelValues: Tensor, spatialShapes: SpatialShapes, pixelAttentionMask?: Tensor | null): ViTOutput {
    return this.naflex.forward(pixelValues, spatialShapes, pixelAttentionMask);
  }

  /**
   * Core `Encoder.forwardInputs` semantics on HF-named inputs: NaFlex rows `pixel_values` with
   * `spatial_shapes` (and optionally `pixel_attention_mask`), or NCHW images. Hidden states keep
   * the padded rows; `grid` is the first image's (a shared grid needs equal spatial shapes).
   */
  forwardInputs(inputs: Record<string, Tensor>): EncoderOutput {
    const px = inputs.pixel_values;
    if (px == null) throw new Error(`SigLIP-2 inputs need "pixel_values" (got ${Object.keys(inputs).join(', ') || 'nothing'})`);
    let out: ViTOutput;
    if (px.rank === 4) out = this.forward(px);
    else {
      const shapes = inputs.spatial_shapes;
      if (shapes == null) throw new Error('SigLIP-2 NaFlex pixel_values (patch rows) need "spatial_shapes" [B, 2] beside them');
      const s = tf.tidy(() => shapes.toInt());
      try {
        out = this.naflex.forward(px, s, inputs.pixel_attention_mask ?? null, { withHead: false });
      } finally {
        s.dispose();
      }
    }
    out.lastHiddenState.dispose();
    out.poolerOutput?.dispose();
    return { hiddenStates: out.hiddenStates, grid: out.grid, prefixTokens: 0 };
  }

  dispose(): void {
    this.naflex.dispose();
  }
}
