/**
 * The multi-layer RAE latent (docs/method.md, "Encoder and multi-layer latent"):
 *   z = combine_{i∈S} LN(h_i)  (+ mean_tokens LN(h_last) when the global term is on)
 * over patch tokens, with LN the encoder's final norm without affine, CLS/registers dropped,
 * `combine` the mean (default) or the sum, and h_last the deepest selected block.
 *
 * Layer order: S is a set of blocks. The selected blocks are taken in depth order (ascending block
 * index), whatever order a list names them in, so the "last selected layer" of the global term is
 * always the deepest one — as the authors' multi-layer encoders read them (intermediate layers are
 * collected block by block). This file holds the one raw-latent function every caller uses.
 */
import { tf, type Tensor } from '../runtime/tf.js';
import { disposeOutput, encodeImages, type Encoder, type EncoderOutput } from '../encoder.js';

export interface LayerSelection {
  /** 0-based block indices; block i's output is hiddenStates[i + 1]. Applied in ascending order. */
  layers: number[];
  /** 'mean' (default) or 'sum' of the normalised layers. */
  combine?: 'mean' | 'sum';
  /** Add the token-mean of the deepest selected layer to every token. */
  global?: boolean;
}

/** Blocks L−K … L−1 of an L-block encoder (the paper's "last K layers"). */
export function lastK(numLayers: number, k: number): number[] {
  if (!Number.isInteger(k) || k < 1 || k > numLayers) throw new Error(`last K: K must be an integer in [1, ${numLayers}], got ${k}`);
  return Array.from({ length: k }, (_, i) => numLayers - k + i);
}

/** Check a selection against an encoder's depth; throws naming the bad index. */
export function validateSelection(sel: LayerSelection, numLayers: number): void {
  if (sel.layers.length === 0) throw new Error('layer selection is empty');
  for (const i of sel.layers) {
    if (!Number.isInteger(i) || i < 0 || i >= numLayers) throw new Error(`layer ${i} is out of range: the encoder has blocks 0…${numLayers - 1}`);
  }
  const dup = sel.layers.find((l, k) => sel.layers.indexOf(l) !== k);
  if (dup !== undefined) throw new Error(`layer ${dup} is selected twice`);
}

/** The selected blocks in the order the latent applies them: ascending depth. */
export function orderedLayers(sel: LayerSelection): number[] {
  return [...sel.layers].sort((a, b) => a - b);
}

/** Hidden states → latent tokens [B, N_patch, D] (the formula above). */
export function combineLayers(out: EncoderOutput, sel: LayerSelection, norm: (h: Tensor) => Tensor): Tensor {
  validateSelection(sel, out.hiddenStates.length - 1);
  return tf.tidy(() => {
    const p = out.prefixTokens;
    const normed = orderedLayers(sel).map((i) => {
      const h = out.hiddenStates[i + 1];
      const patches = p > 0 ? h.slice([0, p, 0], [-1, -1, -1]) : h;
      return norm(patches); // [B, N, D]
    });
    let z = tf.addN(normed);
    if ((sel.combine ?? 'mean') === 'mean') z = z.div(normed.length);
    if (sel.global) z = z.add(normed[normed.length - 1].mean(1, true)); // [B, 1, D] broadcast to every token
    return z;
  });
}

/** An encoder's latent [B, N, D] for already-computed hidden states. */
export function latentFromOutput(encoder: Encoder, out: EncoderOutput, sel: LayerSelection): Tensor {
  return combineLayers(out, sel, (h) => encoder.latentNorm(h));
}

/**
 * The raw multi-layer latent of images NHWC [0,1] → [B, N, C] (no noise, not standardised), and the
 * token grid (rows, cols). The hidden states are released here.
 */
export function rawLatentWithGrid(encoder: Encoder, selection: LayerSelection, images: Tensor): { latent: Tensor; grid: [number, number] } {
  const out = encodeImages(encoder, images);
  try {
    return { latent: latentFromOutput(encoder, out, selection), grid: out.grid };
  } finally {
    disposeOutput(out);
  }
}

/** The raw multi-layer latent of images NHWC [0,1] → [B, N, C] (no noise, not standardised). */
export function rawLatent(encoder: Encoder, selection: LayerSelection, images: Tensor): Tensor {
  return rawLatentWithGrid(encoder, selection, images).latent;
}
