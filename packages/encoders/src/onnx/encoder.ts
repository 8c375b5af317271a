/**
 * An ONNX vision model run by ONNX Runtime behind the Encoder interface. The graph must output its
 * hidden states as `hidden_states.0 … hidden_states.L` (optimum-style exports with
 * output_hidden_states), each [B, T, D]. ORT is asynchronous, so `forward` refuses and
 * `forwardAsync` / `forwardInputs` do the work (core's `encodeImagesAsync` picks them).
 */
import type * as ort from 'onnxruntime-node';
import { tf, layerNorm, type Encoder, type EncoderOutput, type Tensor } from '@raev2/core';

/** What the graph does not say about itself (read from the HF config beside it, or spec options). */
export interface OnnxEncoderConfig {
  name: string;
  patchSize: number;
  imageSize: [number, number];
  imageMean: [number, number, number];
  imageStd: [number, number, number];
  /** Leading non-patch tokens (CLS + registers). */
  prefixTokens: number;
  /** eps of the final LayerNorm, applied without affine as the latent norm. */
  layerNormEps: number;
  /** Name of the pixel input (default: the graph's first input). */
  inputName?: string;
}

const HIDDEN = /^hidden_states[._](\d+)$/;

/** Hidden-state output names of a session in layer order; throws unless they are 0…L without gaps. */
export function hiddenStateOutputs(outputNames: readonly string[], source: string): string[] {
  const found = outputNames.map((n) => [n, HIDDEN.exec(n)] as const).filter(([, m]) => m != null).map(([n, m]) => [n, Number(m![1])] as const);
  if (found.length < 2) throw new Error(`${source}: the ONNX graph has no hidden_states.N outputs (outputs: ${outputNames.join(', ')}); export it with output_hidden_states`);
  found.sort((a, b) => a[1] - b[1]);
  found.forEach(([n, i], k) => {
    if (i !== k) throw new Error(`${source}: hidden-state outputs must be hidden_states.0…L without gaps; found ${n} at position ${k}`);
  });
  return found.map(([n]) => n);
}

function toOrt(ortLib: typeof ort, t: Tensor): ort.Tensor {
  if (t.dtype === 'int32') {
    // HF graphs take integer inputs (spatial_shapes, masks) as int64.
    return new ortLib.Tensor('int64', BigInt64Array.from(t.dataSync() as Int32Array, (v) => BigInt(v)), t.shape);
  }
  if (t.dtype === 'bool') return new ortLib.Tensor('bool', Uint8Array.from(t.dataSync() as Uint8Array), t.shape);
  return new ortLib.Tensor('float32', t.dataSync() as Float32Array, t.shape);
}

export class OnnxEncoder implements Encoder {
  readonly name: string;
  readonly numLayers: number;
  readonly hiddenSize: number;
  readonly patchSize: number;
  readonly imageSize: [number, number];
  readonly imageMean: [number, number, number];
  readonly imageStd: [number, number, number];
  readonly prefixTokens: number;
  private readonly eps: number;
  private readonly inputName: string;
  private readonly outputs: string[];

  constructor(
    private readonly ortLib: typeof ort,
    private readonly session: ort.InferenceSession,
    cfg: OnnxEncoderConfig,
    hiddenSize: number,
  ) {
    this.name = cfg.name;
    this.patchSize = cfg.patchSize;
    this.imageSize = cfg.imageSize;
    this.imageMean = cfg.imageMean;
    this.imageStd = cfg.imageStd;
    this.prefixTokens = cfg.prefixTokens;
    this.eps = cfg.layerNormEps;
    this.inputName = cfg.inputName ?? session.inputNames[0];
    if (!session.inputNames.includes(this.inputName)) throw new Error(`${cfg.name}: the ONNX graph has no input '${this.inputName}' (inputs: ${session.inputNames.join(', ')})`);
    this.outputs = hiddenStateOutputs(session.outputNames, cfg.name);
    this.numLayers = this.outputs.length - 1;
    this.hiddenSize = hiddenSize;
  }

  /** [B,H,W,3] in [0,1] → [B,3,H',W'] normalised (bilinear, half-pixel centres; HF processors resize with PIL, so expect small differences). */
  preprocess(images: Tensor): Tensor {
    return tf.tidy(() => {
      const [h, w] = this.imageSize;
      const x = images.shape[1] === h && images.shape[2] === w ? images : tf.image.resizeBilinear(images as tf.Tensor4D, [h, w], false, true);
      return x.sub(tf.tensor1d(this.imageMean)).div(tf.tensor1d(this.imageStd)).transpose([0, 3, 1, 2]);
    });
  }

  forward(): EncoderOutput {
    throw new Error(`${this.name}: ONNX encoders run asynchronously; call forwardAsync / encodeImagesAsync`);
  }

  /** pixel values [B,3,H,W] → every hidden state. */
  async forwardAsync(pixelValues: Tensor): Promise<EncoderOutput> {
    return this.forwardInputs({ [this.inputName]: pixelValues });
  }

  /** Named graph inputs (e.g. pixel_values + noise) → every hidden state; inputs the graph lacks are an error. */
  async forwardInputs(inputs: Record<string, Tensor>): Promise<EncoderOutput> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) {
      if (!this.session.inputNames.includes(k)) throw new Error(`${this.name}: the ONNX graph has no input '${k}' (inputs: ${this.session.inputNames.join(', ')})`);
      feeds[k] = toOrt(this.ortLib, v);
    }
    const px = inputs[this.inputName];
    if (px == null) throw new Error(`${this.name}: missing input '${this.inputName}'`);
    const result = await this.session.run(feeds, this.outputs);
    const hiddenStates = this.outputs.map((n) => {
      const o = result[n] as ort.Tensor;
      if (o.type !== 'float32') throw new Error(`${this.name}: output ${n} is ${o.type}; only float32 graphs are supported`);
      return tf.tensor((o.data as Float32Array).slice(), o.dims as number[]); // copy: ORT may reuse its buffers
    });
    for (const o of Object.values(result)) (o as ort.Tensor).dispose?.();
    return { hiddenStates, grid: this.gridOf(px.shape as number[], (hiddenStates[0].shape as number[])[1] - this.prefixTokens), prefixTokens: this.prefixTokens };
  }

  /** Patch grid from the NCHW input size; falls back to a square (or 1-row) grid for other layouts (e.g. NaFlex patches). */
  private gridOf(shape: number[], tokens: number): [number, number] {
    if (shape.length === 4) {
      const g: [number, number] = [Math.floor(shape[2] / this.patchSize), Math.floor(shape[3] / this.patchSize)];
      if (g[0] * g[1] === tokens) return g;
    }
    const s = Math.round(Math.sqrt(tokens));
    return s * s === tokens ? [s, s] : [1, tokens];
  }

  latentNorm(h: Tensor): Tensor {
    return layerNorm(h, this.eps);
  }

  dispose(): void {
    void this.session.release();
  }
}
