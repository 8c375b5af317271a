/**
 * A pretrained CNN seen as a "ViT-like" encoder: the blocks of one resolution stage play the role
 * of transformer blocks. hiddenStates[0] is the stage input (average-pooled to the stage grid when
 * it comes from a finer resolution; its width may differ from the stage width), hiddenStates[i] the
 * output of the stage's i-th block, all as tokens [B, h·w, C] in row-major order (no prefix tokens).
 * The latent norm is LayerNorm over channels without affine (eps 1e-6), as for the ViTs.
 */
import { tf, layerNorm, ortLayersModel, resolveEngine, type Encoder, type EncoderOutput, type LayerSelection, type OrtLayersModel, type Tensor } from '@raev2/core';
import type { EncoderDefaults } from '../spec.js';

/** One stage of a CNN: the layer feeding it and its block-output layers (all the same width). */
export interface CnnStage {
  /** Stage id used in specs (`stage=10-12`). */
  id: string;
  description: string;
  /** Layer whose output is the stage input (hiddenStates[0]). */
  inputLayer: string;
  /** Block-output layers in order (hiddenStates[1…]). */
  blockLayers: string[];
  /** Channel width of the block outputs. */
  channels: number;
  /** Pixels per grid cell of the stage (the decoder's patch size). */
  patchSize: number;
}

export interface CnnGeometry {
  /** Network input side for a stage grid of g (e.g. MobileNetV2: 16·g; InceptionV3: smallest S with grid g). */
  inputSizeForGrid(g: number): number;
  /** Stage grid for a network input side (throws if the size is unsupported). */
  gridForInputSize(s: number): number;
}

export interface CnnStageEncoderOptions {
  name: string;
  model: tf.LayersModel;
  stage: CnnStage;
  geometry: CnnGeometry;
  /** Grid side of the default resolution (imageSize = grid · patchSize). */
  grid: number;
}

/** Images [B,H,W,3] in [0,1] are the network's input as is (nsfwjs divides bytes by 255 and nothing else). */
export class CnnStageEncoder implements Encoder, EncoderDefaults {
  readonly name: string;
  readonly numLayers: number;
  readonly hiddenSize: number;
  readonly patchSize: number;
  readonly imageSize: [number, number];
  readonly imageMean: [number, number, number] = [0, 0, 0];
  readonly imageStd: [number, number, number] = [1, 1, 1];
  readonly defaultSelection: LayerSelection;
  readonly stage: CnnStage;
  private readonly model: tf.LayersModel;
  private readonly geometry: CnnGeometry;
  private readonly inputSide: number;
  /** The CNN on onnxruntime (RAEV2_ENGINE, default ort), built on first use ('tfjs': not exportable); gradients always run on tfjs. */
  private ort: OrtLayersModel | 'tfjs' | null = null;

  constructor(opts: CnnStageEncoderOptions) {
    this.name = opts.name;
    this.model = opts.model;
    this.stage = opts.stage;
    this.geometry = opts.geometry;
    this.numLayers = opts.stage.blockLayers.length;
    this.hiddenSize = opts.stage.channels;
    this.patchSize = opts.stage.patchSize;
    this.imageSize = [opts.grid * this.patchSize, opts.grid * this.patchSize];
    this.inputSide = opts.geometry.inputSizeForGrid(opts.grid);
    this.defaultSelection = { layers: Array.from({ length: this.numLayers }, (_, i) => i), combine: 'mean', global: false };
  }

  /** [B,H,W,3] in [0,1] → [B,3,S,S] (bilinear resize to the network input side S; NCHW like HF pixel_values). */
  preprocess(images: Tensor): Tensor {
    if (images.rank !== 4 || images.shape[3] !== 3) throw new Error(`${this.name}: preprocess expects images [B, H, W, 3], got [${images.shape}]`);
    return tf.tidy(() => {
      const s = this.inputSide;
      const x = images.shape[1] === s && images.shape[2] === s ? images : tf.image.resizeBilinear(images as tf.Tensor4D, [s, s], false, true);
      return x.transpose([0, 3, 1, 2]);
    });
  }

  /** pixel values [B,3,H,W] → stage hidden states [B, h·w, C]. */
  forward(pixelValues: Tensor): EncoderOutput {
    const [b, c, h, w] = pixelValues.shape;
    if (pixelValues.rank !== 4 || c !== 3) throw new Error(`${this.name}: forward expects pixel values [B, 3, H, W], got [${pixelValues.shape}]`);
    const gh = this.geometry.gridForInputSize(h), gw = this.geometry.gridForInputSize(w);
    const hiddenStates = tf.tidy(() => {
      const x = pixelValues.transpose([0, 2, 3, 1]);
      const ort = tf.engine().state.gradientDepth === 0 && resolveEngine() === 'ort' ? this.ortModel() : null;
      const outs = ort ? ort.predict(x) : (this.model.predict(x, { batchSize: b }) as Tensor[]);
      return outs.map((o, i) => {
        let y = o as tf.Tensor4D;
        if (i === 0 && y.shape[1] !== gh) {
          // The stage input comes from a finer grid: average-pool it onto the stage grid.
          const f = Math.round(y.shape[1] / gh);
          y = tf.avgPool(y, [f, f], [f, f], 'valid');
        }
        if (y.shape[1] !== gh || y.shape[2] !== gw) throw new Error(`${this.name}: layer output ${y.shape} does not match grid ${gh}×${gw}`);
        return y.reshape([b, gh * gw, y.shape[3]]);
      });
    });
    return { hiddenStates, grid: [gh, gw], prefixTokens: 0 };
  }

  private ortModel(): OrtLayersModel | null {
    if (this.ort == null) {
      try {
        this.ort = ortLayersModel(this.model);
      } catch {
        this.ort = 'tfjs'; // a layer the exporter does not know (e.g. InceptionV3's pooling): stay on tfjs
      }
    }
    return this.ort === 'tfjs' ? null : this.ort;
  }

  latentNorm(h: Tensor): Tensor {
    return layerNorm(h, 1e-6);
  }

  dispose(): void {
    if (this.ort != null && this.ort !== 'tfjs') this.ort.release();
    this.model.dispose();
  }
}
