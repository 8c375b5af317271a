/**
 * Core's `Encoder` for any HF vision tower: preprocessing from the checkpoint's image processor,
 * all hidden states at any patch-multiple resolution (position tables are interpolated), and the
 * final norm without affine as the latent norm. ViT-MAE runs in natural patch order with nothing
 * masked. With the ort engine (`RAEV2_ENGINE`, the default), a DINOv2-family tower (with or without
 * registers, GELU MLP) encodes through onnxruntime whenever no gradient is recorded and the input
 * is at its position table's size: the same weights as core's ONNX ViT graph (onnx/vit.ts), built
 * on first use; anything else (other families, interpolated positions, gradients) runs on tfjs.
 */
import { tf, type Tensor, type Encoder, type EncoderOutput, layerNorm, resolveEngine, buildVitOnnx, vitShapes, ortEncoder, type OrtEncoder } from '@raev2/core';
import { Dinov2Model } from '../dinov2/model.js';
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
  /** The onnxruntime twin of a DINOv2-family tower; 'tfjs' once it is known not to export. */
  private ort: OrtEncoder | 'tfjs' | null = null;
  /** The square input size the twin's position table fixes. */
  private ortSize = 0;

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
    const ort = tf.engine().state.gradientDepth === 0 && resolveEngine() === 'ort' ? this.ortTwin(pixelValues) : null;
    return ort ? ort.forward(pixelValues) : this.tfjsForward(pixelValues);
  }

  private tfjsForward(pixelValues: Tensor): EncoderOutput {
    return this.run(pixelValues, { interpolatePosEncoding: true, maskRatio: 0 });
  }

  /** The tower on onnxruntime for these pixels, or null (not exportable, or positions to interpolate). */
  private ortTwin(pixelValues: Tensor): OrtEncoder | null {
    const m = this.model;
    if (this.ort == null) {
      if (!(m instanceof Dinov2Model) || m.config.use_swiglu_ffn || m.config.hidden_act !== 'gelu') this.ort = 'tfjs';
      else {
        const weights = new Map(m.namedParameters());
        const { grid, patch } = vitShapes(weights);
        this.ortSize = grid * patch;
        // the base's dispose is a no-op: this encoder disposes its own model
        const base: Encoder = {
          name: this.name, numLayers: this.numLayers, hiddenSize: this.hiddenSize, patchSize: this.patchSize, imageSize: this.imageSize,
          imageMean: this.imageMean, imageStd: this.imageStd, preprocess: (x) => this.preprocess(x), latentNorm: (h) => this.latentNorm(h),
          forward: (px) => this.tfjsForward(px), dispose: () => {},
        };
        try {
          this.ort = ortEncoder(base, buildVitOnnx(weights, { numHeads: m.config.num_attention_heads, eps: m.config.layer_norm_eps }));
        } catch (e) {
          process.stderr.write(`[raev2] ${this.name}: onnxruntime cannot run this tower (${(e as Error).message.split('\n')[0]}); encoding on tfjs\n`);
          this.ort = 'tfjs';
        }
      }
    }
    const [, , h, w] = pixelValues.shape;
    return this.ort !== 'tfjs' && h === this.ortSize && w === this.ortSize && pixelValues.dtype === 'float32' ? this.ort : null;
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
    if (this.ort != null && this.ort !== 'tfjs') this.ort.dispose();
    this.model.dispose();
  }
}
