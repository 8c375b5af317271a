/**
 * What every HF vision family model exposes: a forward on NCHW pixel values that returns all
 * hidden states (HF `output_hidden_states=True`), `last_hidden_state` and `pooler_output`, plus the
 * shape facts the `Encoder` adapter needs.
 */
import { tf, type Tensor } from '@raev2/core';

export interface ViTForwardOptions {
  /**
   * Resize the learned position table when the input size differs from the config's `image_size`
   * (HF `interpolate_pos_encoding=True`). DINOv2 always interpolates; DINOv3 needs none (RoPE).
   */
  interpolatePosEncoding?: boolean;
  /** ViT-MAE: per-patch uniform noise [B, N] whose ascending argsort shuffles the patches (HF semantics). */
  noise?: Tensor;
  /** ViT-MAE: fraction of shuffled patches dropped (default: the config's `mask_ratio` when `noise` is given, else 0). */
  maskRatio?: number;
}

export interface ViTOutput {
  /** hidden_states[0] = embeddings (input of layer 0), hidden_states[i] = output of layer i; each [B, T, D]. */
  hiddenStates: Tensor[];
  /** [B, T, D]; may be the same tensor as the last hidden state (CLIP). */
  lastHiddenState: Tensor;
  /** [B, D], or null for families without a pooler (ViT-MAE). */
  poolerOutput: Tensor | null;
  /** Patch grid (rows, cols) of the input. */
  grid: [number, number];
  /** Leading non-patch tokens (CLS + registers). */
  prefixTokens: number;
  /** Family extras, e.g. ViT-MAE `mask` [B, N] and `ids_restore` [B, N] (int32). */
  extras: Record<string, Tensor>;
}

/** A loaded HF vision tower. */
export interface HFVisionModel {
  /** The config's `model_type` (e.g. `dinov2`, `clip_vision_model`). */
  readonly modelType: string;
  readonly numLayers: number;
  readonly hiddenSize: number;
  readonly patchSize: number;
  /** The config's native input size (height, width). */
  readonly imageSize: [number, number];
  /** CLS + register tokens in front of the patches. */
  readonly prefixTokens: number;
  /** eps of the final norm (the RAE latent applies it without affine). */
  readonly finalNormEps: number;
  /** pixel values NCHW [B, C, H, W] (already normalised) → all outputs. */
  forward(pixelValues: Tensor, opts?: ViTForwardOptions): ViTOutput;
  dispose(): void;
}

/** Dispose every tensor of an output once (some are shared between fields). */
export function disposeViTOutput(out: ViTOutput): void {
  const all = new Set<Tensor>([...out.hiddenStates, out.lastHiddenState, ...Object.values(out.extras)]);
  if (out.poolerOutput) all.add(out.poolerOutput);
  for (const t of all) t.dispose();
}

/** Drop trailing rows/cols that do not fill a patch, as a stride-p convolution does. NCHW → NCHW. */
export function cropToPatches(px: Tensor, patch: number): Tensor {
  if (px.rank !== 4) throw new Error(`pixel values must be NCHW [B, C, H, W], got shape [${px.shape}]`);
  const [b, c, h, w] = px.shape;
  const hh = h - (h % patch), ww = w - (w % patch);
  if (hh === 0 || ww === 0) throw new Error(`image ${h}×${w} is smaller than one ${patch}×${patch} patch`);
  return hh === h && ww === w ? px : tf.slice(px, [0, 0, 0, 0], [b, c, hh, ww]);
}

/** Check the channel count of NCHW pixel values against the config. */
export function checkChannels(px: Tensor, channels: number, family: string): void {
  if (px.rank !== 4 || px.shape[1] !== channels) {
    throw new Error(`${family}: pixel values must be NCHW [B, ${channels}, H, W] (normalised), got shape [${px.shape}]`);
  }
}
