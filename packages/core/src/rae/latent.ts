/**
 * The multi-layer RAE latent (SPEC §1.1): z = mean_{i∈S} LN(h_i) over patch tokens, with the
 * encoder's final norm applied without affine, CLS/registers dropped, and an optional global
 * term (token-mean of the last selected layer broadcast to every token).
 */
import { tf, type Tensor } from '../runtime/tf.js';
import type { Encoder, EncoderOutput } from '../encoder.js';

export interface LayerSelection {
  /** 0-based block indices; block i's output is hiddenStates[i + 1]. */
  layers: number[];
  /** 'mean' (default) or 'sum' of the normalised layers. */
  combine?: 'mean' | 'sum';
  /** Add the token-mean of the last selected layer to every token. */
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
}

/** Hidden states → latent tokens [B, N_patch, D]. */
export function combineLayers(out: EncoderOutput, sel: LayerSelection, norm: (h: Tensor) => Tensor): Tensor {
  validateSelection(sel, out.hiddenStates.length - 1);
  return tf.tidy(() => {
    const p = out.prefixTokens;
    const normed = sel.layers.map((i) => {
      const h = out.hiddenStates[i + 1];
      const patches = p > 0 ? h.slice([0, p, 0], [-1, -1, -1]) : h;
      return norm(patches);
    });
    let z = tf.addN(normed);
    if ((sel.combine ?? 'mean') === 'mean') z = z.div(normed.length);
    if (sel.global) z = z.add(normed[normed.length - 1].mean(1, true));
    return z;
  });
}

/** Convenience: an encoder's latent for already-computed hidden states. */
export function latentFromOutput(encoder: Encoder, out: EncoderOutput, sel: LayerSelection): Tensor {
  return combineLayers(out, sel, (h) => encoder.latentNorm(h));
}
