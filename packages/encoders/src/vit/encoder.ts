/**
 * Core's `Encoder` for any HF vision tower: preprocessing from the checkpoint's image processor,
 * all hidden states at any patch-multiple resolution (position tables are interpolated), and the
 * final norm without affine as the latent norm. ViT-MAE runs in natural patch order with nothing
 * masked.
 */
import { tf, type Tensor, type Encoder, type EncoderOutput, layerNorm } from '@raev2/core';
import { preprocessImages } from '../preprocess/pipeline.js';
import { fixedOutputSize, type ImageProcessor } from '../preprocess/processor.js';
import type { HFVisionModel, ViTForwardOptions } from './model.js';

export interface ViTEncoderOptions {
  /** Registry / spec name. */
  name: string;
  /** Input resolution (height, width) that `preprocess` produces; default the processor's output size, else the config's. */
  imageSize?: [number, number];
  /**
   * 'resize' (default): the whole image is resized to `imageSize` (no crop), so a decoder can
   * reconstruct exactly what it was given — as the RAE reference resizes before its encoder.
   * 'processor': the checkpoint's processor steps exactly (e.g. shortest edge 256 then center crop 224).
   */
  preprocess?: 'resize' | 'processor';
}

export class ViTEncoder implements Encoder {
  readonly name: string;
  readonly numLayers: number;
  readonly hiddenSize: number;
  readonly patchSize: number;
  readonly imageSize: [number, number];
  readonly imageMean: [number, number, number];
  readonly imageStd: [number, number, number];
  readonly preprocessMode: 'resize' | 'processor';

  constructor(readonly model: HFVisionModel, readonly processor: ImageProcessor, opts: ViTEncoderOptions) {
    this.name = opts.name;
    this.numLayers = model.numLayers;
    this.hiddenSize = model.hiddenSize;
    this.patchSize = model.patchSize;
    const p = this.patchSize;
    if (opts.imageSize && (opts.imageSize[0] % p !== 0 || opts.imageSize[1] % p !== 0)) {
      throw new Error(`${this.name}: image size ${opts.imageSize[0]}×${opts.imageSize[1]} is not a multiple of the patch size ${p}`);
    }
    // a checkpoint's own size need not be a patch multiple (so400m-patch14-384): its conv drops the remainder, so do we
    const [h0, w0] = opts.imageSize ?? fixedOutputSize(processor) ?? model.imageSize;
    this.imageSize = [h0 - (h0 % p), w0 - (w0 % p)];
    this.preprocessMode = opts.preprocess ?? 'resize';
    // the decoder's output space: processor normalisation of 8-bit values scaled by rescale_factor
    const k = 255 * processor.rescaleFactor;
    this.imageMean = processor.mean.map((m) => m / k) as [number, number, number];
    this.imageStd = processor.std.map((s) => s / k) as [number, number, number];
  }

  /** Images NHWC [B, H, W, C] in [0, 1] → pixel values NCHW [B, 3, h, w]. */
  preprocess(images: Tensor): Tensor {
    return preprocessImages(images, this.processor, { mode: this.preprocessMode, size: this.imageSize });
  }

  /** Pixel values NCHW → every hidden state [B, T, D] (T = prefix + h·w patches in row-major order). */
  forward(pixelValues: Tensor): EncoderOutput {
    return this.run(pixelValues, { interpolatePosEncoding: true, maskRatio: 0 });
  }

  private run(pixelValues: Tensor, opts: ViTForwardOptions): EncoderOutput {
    const out = this.model.forward(pixelValues, opts);
    const keep = new Set(out.hiddenStates);
    for (const t of [out.lastHiddenState, out.poolerOutput, ...Object.values(out.extras)]) if (t && !keep.has(t)) t.dispose();
    return { hiddenStates: out.hiddenStates, grid: out.grid, prefixTokens: out.prefixTokens };
  }

  /**
   * HF-named inputs: SigLIP-2's `pixel_values` rows + `spatial_shapes` + `pixel_attention_mask` go to the model's own
   * `forwardInputs`; otherwise `pixel_values` (+ ViT-MAE's `noise`, which shuffles patches as HF does).
   */
  forwardInputs(inputs: Record<string, Tensor>): EncoderOutput {
    const m = this.model as HFVisionModel & { forwardInputs?: (inputs: Record<string, Tensor>) => EncoderOutput };
    if (m.forwardInputs) return m.forwardInputs(inputs);
    const { pixel_values: px, noise, ...rest } = inputs;
    if (px == null) throw new Error(`${this.name}: inputs need "pixel_values"`);
    const extra = Object.keys(rest);
    if (extra.length) throw new Error(`${this.name}: unexpected inputs ${extra.join(', ')} (expected pixel_values, plus noise for ViT-MAE)`);
    return this.run(px, noise ? { interpolatePosEncoding: true, noise } : { interpolatePosEncoding: true, maskRatio: 0 });
  }

  /** The final norm without affine, per token: [..., D] → [..., D]. */
  latentNorm(h: Tensor): Tensor {
    return tf.tidy(() => layerNorm(h, this.model.finalNormEps));
  }

  dispose(): void {
    this.model.dispose();
  }
}
