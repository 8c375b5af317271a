/**
 * Frozen image features for locked-image tuning: the stage-1 encoder's multi-layer latent of each
 * image ([N, C] tokens on an h×w grid), average-pooled to a coarse grid and flattened, so the
 * features keep where colours sit (skin vs. clothes) without the full token grid.
 */
import { tf, readImages, rawLatent, progress, type Tensor, type Encoder, type LayerSelection } from '@raev2/core';

export interface LatentFeatures {
  /** Raw (unstandardised) latents, row-major [M, N, C]. */
  latents: Float32Array;
  grid: [number, number];
  channels: number;
  count: number;
}

/** Raw multi-layer latents of image files (read at `imageSize`, encoded in batches, with progress). */
export async function encodeRawLatents(encoder: Encoder, selection: LayerSelection, files: readonly string[], imageSize: number, batch = 32): Promise<LatentFeatures> {
  const bar = progress({ label: 'encode latents', total: files.length, unit: 'img' });
  const parts: Float32Array[] = [];
  let shape: number[] = [];
  for (let i = 0; i < files.length; i += batch) {
    const images = await readImages(files.slice(i, i + batch), imageSize);
    const z = rawLatent(encoder, selection, images);
    images.dispose();
    shape = z.shape;
    parts.push(z.dataSync() as Float32Array);
    z.dispose();
    bar.update(Math.min(files.length, i + batch));
  }
  bar.finish();
  const n = shape[1], c = shape[2];
  const side = Math.round(Math.sqrt(n));
  if (side * side !== n) throw new Error(`latent has ${n} tokens, not a square grid`);
  const latents = new Float32Array(files.length * n * c);
  let o = 0;
  for (const p of parts) {
    latents.set(p, o);
    o += p.length;
  }
  return { latents, grid: [side, side], channels: c, count: files.length };
}

/** Latents [M, h·w, C] → features [M, (h/p)·(w/p)·C]: p×p average pooling, then flattened. */
export function pooledFeatures(z: Tensor, grid: [number, number], pool = 2): Tensor {
  return tf.tidy(() => {
    const [m, , c] = z.shape;
    const x = z.reshape([m, grid[0], grid[1], c]) as tf.Tensor4D;
    const pooled = pool > 1 ? tf.avgPool(x, pool, pool, 'valid') : x;
    return pooled.reshape([m, -1]);
  });
}
