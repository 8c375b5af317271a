/**
 * `stage1 stats`: per-position, per-channel latent statistics (SPEC §1.2) of an encoder + layer
 * selection over a set of images — Welford in float64 on the noise-free raw latent.
 */
import { tf } from '../runtime/tf.js';
import { disposeOutput, encodeImages, type Encoder } from '../encoder.js';
import { combineLayers, type LayerSelection } from '../rae/latent.js';
import { Welford, type LatentStats } from '../rae/stats.js';
import type { ImageStore } from './images.js';

/** Raw multi-layer latent [B, N, C] of images NHWC [0,1] (no noise, not standardised). */
export function rawLatent(encoder: Encoder, selection: LayerSelection, images: tf.Tensor): tf.Tensor {
  const out = encodeImages(encoder, images);
  try {
    return combineLayers(out, selection, (h) => encoder.latentNorm(h));
  } finally {
    disposeOutput(out);
  }
}

/** Welford over every image of `store`, `batch` at a time; `onProgress(done)` after each batch. */
export function latentStatsOf(encoder: Encoder, selection: LayerSelection, store: ImageStore, batch: number, onProgress?: (done: number) => void): LatentStats & { count: number } {
  let acc: Welford | null = null;
  for (const idx of store.ranges(batch)) {
    const x = store.batch(idx);
    const z = rawLatent(encoder, selection, x);
    x.dispose();
    try {
      acc ??= new Welford(z.shape.slice(1));
      acc.update(z);
    } finally {
      z.dispose();
    }
    onProgress?.(acc.count);
  }
  if (acc == null) throw new Error(`${store.name}: no images for latent statistics`);
  return { ...acc.toStats(), count: acc.count };
}
