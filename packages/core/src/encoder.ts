/**
 * The Encoder interface every vision encoder implements (concrete encoders live in @raev2/encoders;
 * core never imports one). An encoder returns the hidden states of every block so the RAE latent
 * can combine several layers (docs/method.md §1.1).
 */
import type { Tensor } from './runtime/tf.js';

export interface EncoderOutput {
  /** hidden_states[0] = embeddings (input of block 0), hidden_states[i] = output of block i−1; each [B, T, D]. */
  hiddenStates: Tensor[];
  /** Patch grid (rows, cols) of the patch tokens. */
  grid: [number, number];
  /** Number of leading non-patch tokens (CLS + registers) in each hidden state. */
  prefixTokens: number;
}

export interface Encoder {
  /** Registry / spec name, e.g. `dinov2-vit-b14reg`. */
  readonly name: string;
  /** Number of blocks L (hiddenStates has L + 1 entries). */
  readonly numLayers: number;
  /** Channel width D of the hidden states. */
  readonly hiddenSize: number;
  /** Pixels per patch token along each side (the decoder upsamples by this). */
  readonly patchSize: number;
  /** Default input resolution (height, width) after preprocessing. */
  readonly imageSize: [number, number];
  /** Per-channel pixel normalisation applied by preprocess (x − mean)/std; the decoder output lives in this space. */
  readonly imageMean: [number, number, number];
  readonly imageStd: [number, number, number];
  /** Images NHWC float32 in [0, 1] → the model's input (resize + normalise), layout the encoder's own. */
  preprocess(images: Tensor): Tensor;
  /** Run on preprocessed input; returns every hidden state. */
  forward(pixelValues: Tensor): EncoderOutput;
  /** Optional asynchronous forward for encoders that run outside tfjs (e.g. ONNX Runtime); use `encodeImagesAsync`. */
  forwardAsync?(pixelValues: Tensor): Promise<EncoderOutput>;
  /**
   * Optional: run on the model's named inputs as HF processors name them (`pixel_values` plus e.g.
   * `pixel_attention_mask`/`spatial_shapes` for SigLIP-2, `noise` for ViT-MAE); used by `raev2 features`.
   */
  forwardInputs?(inputs: Record<string, Tensor>): EncoderOutput | Promise<EncoderOutput>;
  /** The encoder's final norm with no affine weight/bias, applied per token ([..., D] → [..., D]). */
  latentNorm(h: Tensor): Tensor;
  /** Release weights. */
  dispose(): void;
}

/** preprocess + forward. */
export function encodeImages(encoder: Encoder, images: Tensor): EncoderOutput {
  const px = encoder.preprocess(images);
  try {
    return encoder.forward(px);
  } finally {
    px.dispose();
  }
}

/** forwardAsync when the encoder has one, else forward. */
export async function encodePixelsAsync(encoder: Encoder, pixelValues: Tensor): Promise<EncoderOutput> {
  return encoder.forwardAsync ? encoder.forwardAsync(pixelValues) : encoder.forward(pixelValues);
}

/** preprocess + forward for any encoder (sync or async). */
export async function encodeImagesAsync(encoder: Encoder, images: Tensor): Promise<EncoderOutput> {
  const px = encoder.preprocess(images);
  try {
    return await encodePixelsAsync(encoder, px);
  } finally {
    px.dispose();
  }
}

/** Dispose every hidden state of an output. */
export function disposeOutput(out: EncoderOutput): void {
  for (const h of out.hiddenStates) h.dispose();
}
