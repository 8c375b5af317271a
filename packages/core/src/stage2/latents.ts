/**
 * Latent sets for stage 2: the standardised latents [M, N, C] of a dataset split and their labels,
 * kept in JS memory (batches are copied out per step), and their on-disk cache. A cache file is
 * safetensors (`latents`, `labels`) whose metadata records what produced it — encoder spec, layer
 * selection, image size, a hash of the latent statistics and of the items — so a cache built with
 * another encoder, selection, size, statistics or data is rejected by name instead of silently used.
 */
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { tf, type Tensor } from '../runtime/tf.js';
import { SafetensorsFile, saveSafetensors } from '../io/safetensors.js';
import { parseWith } from '../util/config.js';
import type { LayerSelection } from '../rae/latent.js';
import type { LatentStats } from '../rae/stats.js';
import type { ImageDataset } from '../data/dataset.js';

/** Standardised latents of M samples with their class labels. */
export interface LatentSet {
  /** Row-major [count, N, C]. */
  latents: Float32Array;
  labels: Int32Array;
  count: number;
  grid: [number, number];
  channels: number;
}

/** Tokens per latent. */
export function numTokens(s: Pick<LatentSet, 'grid'>): number {
  return s.grid[0] * s.grid[1];
}

/** Latents at `indices` → [B, N, C]. */
export function latentBatch(s: LatentSet, indices: readonly number[]): Tensor {
  const per = numTokens(s) * s.channels;
  const out = new Float32Array(indices.length * per);
  indices.forEach((i, k) => {
    if (!(Number.isInteger(i) && i >= 0 && i < s.count)) throw new RangeError(`latent index ${i} is out of range [0, ${s.count})`);
    out.set(s.latents.subarray(i * per, (i + 1) * per), k * per);
  });
  return tf.tensor3d(out, [indices.length, numTokens(s), s.channels]);
}

/** Labels at `indices`. */
export function labelsAt(s: LatentSet, indices: readonly number[]): number[] {
  return indices.map((i) => s.labels[i]);
}

/** The rows at `indices` as a new set. */
export function selectRows(s: LatentSet, indices: readonly number[]): LatentSet {
  const per = numTokens(s) * s.channels;
  const latents = new Float32Array(indices.length * per);
  indices.forEach((i, k) => latents.set(s.latents.subarray(i * per, (i + 1) * per), k * per));
  return { latents, labels: Int32Array.from(indices, (i) => s.labels[i]), count: indices.length, grid: s.grid, channels: s.channels };
}

/** What produced a cache: compared field by field when the cache is read. */
export const LatentCacheKeySchema = z
  .object({
    format: z.literal('raev2-latent-cache'),
    version: z.literal(1),
    encoder: z.string(),
    selection: z.object({ layers: z.array(z.number().int()), combine: z.string(), global: z.boolean() }),
    imageSize: z.tuple([z.number().int(), z.number().int()]),
    /** sha256 of the statistics' float32 data (mean then var), or "none". */
    stats: z.string(),
    data: z.string(),
    /** sha256 of the items' keys and labels, in order. */
    items: z.string(),
    count: z.number().int().nonnegative(),
  })
  .strict();
export type LatentCacheKey = z.infer<typeof LatentCacheKeySchema>;

/** sha256 of latent statistics (mean then var, float32 bytes). */
export function statsHash(stats: LatentStats | null): string {
  if (stats == null) return 'none';
  const h = createHash('sha256');
  for (const t of [stats.mean, stats.var]) {
    const d = t ? Float32Array.from(t.dataSync()) : new Float32Array(0);
    h.update(t ? `[${t.shape}]` : 'null');
    h.update(new Uint8Array(d.buffer));
  }
  h.update(String(stats.eps ?? ''));
  return h.digest('hex');
}

/** sha256 of a dataset's item keys and labels (order matters). */
export function itemsHash(ds: ImageDataset, labels: ArrayLike<number>): string {
  const h = createHash('sha256');
  for (let i = 0; i < ds.size; i++) h.update(`${ds.get(i).key}\t${labels[i]}\n`);
  return h.digest('hex');
}

/** The key of a cache for these inputs. */
export function latentCacheKey(o: { encoder: string; selection: LayerSelection; imageSize: [number, number]; stats: LatentStats | null; data: string; dataset: ImageDataset; labels: ArrayLike<number> }): LatentCacheKey {
  return {
    format: 'raev2-latent-cache',
    version: 1,
    encoder: o.encoder,
    selection: { layers: [...o.selection.layers], combine: o.selection.combine ?? 'mean', global: o.selection.global ?? false },
    imageSize: o.imageSize,
    stats: statsHash(o.stats),
    data: o.data,
    items: itemsHash(o.dataset, o.labels),
    count: o.dataset.size,
  };
}

/** Fields where two keys differ (compared as JSON). */
function keyDifferences(saved: LatentCacheKey, want: LatentCacheKey): string[] {
  return (Object.keys(want) as (keyof LatentCacheKey)[])
    .filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(want[k]))
    .map((k) => `${k}: cached ${short(saved[k])}, now ${short(want[k])}`);
}

function short(v: unknown): string {
  const s = JSON.stringify(v);
  return /^"[0-9a-f]{64}"$/.test(s) ? `${s.slice(0, 13)}…"` : s;
}

/**
 * Read a cache written by `writeLatentCache`; null when `file` does not exist. Throws, naming each
 * differing field, when it was built from other inputs than `key` describes.
 */
export function readLatentCache(file: string, key: LatentCacheKey): LatentSet | null {
  if (!fs.existsSync(file)) return null;
  const f = SafetensorsFile.open(file);
  try {
    let meta: unknown;
    try {
      meta = JSON.parse(f.metadata.key ?? 'null');
    } catch {
      meta = null;
    }
    const saved = parseWith(LatentCacheKeySchema, meta, `latent cache key in ${file}`);
    const diff = keyDifferences(saved, key);
    if (diff.length) throw new Error(`latent cache ${file} is stale — it was built from different inputs:\n  ${diff.join('\n  ')}\n(delete it, or rebuild with --recache)`);
    const lat = f.readHost('latents'), lab = f.readHost('labels');
    if (lat.shape.length !== 3 || lat.shape[0] !== key.count) throw new Error(`${file}: "latents" has shape [${lat.shape}], expected [${key.count}, N, C]`);
    if (lab.shape.length !== 1 || lab.shape[0] !== key.count) throw new Error(`${file}: "labels" has shape [${lab.shape}], expected [${key.count}]`);
    const grid = JSON.parse(f.metadata.grid ?? 'null') as [number, number] | null;
    if (!Array.isArray(grid) || grid.length !== 2 || grid[0] * grid[1] !== lat.shape[1]) throw new Error(`${file}: metadata grid ${f.metadata.grid} does not match ${lat.shape[1]} tokens`);
    return { latents: Float32Array.from(lat.data as ArrayLike<number>), labels: Int32Array.from(lab.data as ArrayLike<number>), count: key.count, grid, channels: lat.shape[2] };
  } finally {
    f.close();
  }
}

/** Write a latent set atomically with its key. */
export function writeLatentCache(file: string, s: LatentSet, key: LatentCacheKey): void {
  saveSafetensors(file, {
    latents: { dtype: 'F32', shape: [s.count, numTokens(s), s.channels], data: s.latents },
    labels: { dtype: 'I32', shape: [s.count], data: s.labels },
  }, { metadata: { format: 'raev2-latent-cache', key: JSON.stringify(key), grid: JSON.stringify(s.grid) } });
}

/**
 * Encode image batches into a latent set on `grid`. `batches` yields (images NHWC [0,1], labels);
 * `encode` maps images to standardised latents [B, N, C]. Images are disposed after use.
 */
export async function encodeLatentSet(
  batches: AsyncIterable<{ images: Tensor; labels: number[] }> | Iterable<{ images: Tensor; labels: number[] }>,
  count: number,
  grid: [number, number],
  encode: (images: Tensor) => Tensor | Promise<Tensor>,
  onProgress?: (done: number) => void,
): Promise<LatentSet> {
  let out: LatentSet | null = null;
  let done = 0;
  for await (const { images, labels } of batches) {
    let z: Tensor;
    try {
      z = await encode(images);
    } finally {
      images.dispose();
    }
    try {
      const [b, n, c] = z.shape as [number, number, number];
      if (b !== labels.length) throw new Error(`encodeLatentSet: ${labels.length} labels for a batch of ${b}`);
      if (n !== grid[0] * grid[1]) throw new Error(`encodeLatentSet: latents have ${n} tokens, the grid ${grid.join('×')} has ${grid[0] * grid[1]}`);
      out ??= { latents: new Float32Array(count * n * c), labels: new Int32Array(count), count, grid, channels: c };
      if (done + b > count) throw new Error(`encodeLatentSet: more than the announced ${count} samples`);
      out.latents.set(z.dataSync(), done * n * c);
      out.labels.set(labels, done);
      done += b;
    } finally {
      z.dispose();
    }
    onProgress?.(done);
  }
  if (out == null || done !== count) throw new Error(`encodeLatentSet: got ${done} samples, expected ${count}`);
  return out;
}
