/**
 * The real data a stage-2 run trains on and compares with: standardised latents of each split and,
 * per image feature space, the real images' features — read from the keyed caches in `cacheDir`, or
 * computed once (with progress) and written there. Image features are stored like latents, as sets
 * of [count, 1, d].
 */
import * as path from 'node:path';
import { tf, type Tensor } from '../runtime/tf.js';
import type { Encoder } from '../encoder.js';
import type { ImageDataset } from '../data/dataset.js';
import type { LayerSelection } from '../rae/latent.js';
import { standardize, type LatentStats } from '../rae/stats.js';
import { rawLatent } from '../stage1/stats.js';
import type { FeatureSpace } from '../metrics/generation.js';
import { progress } from '../util/progress.js';
import { datasetLabels, imageChunks } from './data.js';
import { encodeLatentSet, latentCacheKey, readLatentCache, writeLatentCache, type LatentCacheKey, type LatentSet } from './latents.js';
import type { RealSplit } from './evaluate.js';

export interface LatentSource {
  encoder: Encoder;
  selection: LayerSelection;
  /** Canonical spec text (recorded in the cache key). */
  encoderSpec: string;
  imageSize: [number, number];
  stats: LatentStats;
  /** The latent grid (from probing the encoder). */
  grid: [number, number];
}

/** images NHWC [0,1] → standardised latents [B, N, C] (noise-free). */
export function encodeStandardized(src: Pick<LatentSource, 'encoder' | 'selection' | 'stats'>, images: Tensor): Tensor {
  const raw = rawLatent(src.encoder, src.selection, images);
  try {
    return standardize(raw, src.stats);
  } finally {
    raw.dispose();
  }
}

export interface PrepareOptions {
  /** Folder of the cache files; null keeps everything in memory only. */
  cacheDir: string | null;
  /** The data source text (part of the key). */
  data: string;
  /** Images per encoder forward. */
  batch: number;
  /** Ignore (and overwrite) existing caches. */
  recache?: boolean;
}

/** Latents of one split (`name` = train | heldout), from cache or encoded now. */
export async function splitLatents(name: string, ds: ImageDataset, src: LatentSource, o: PrepareOptions): Promise<LatentSet> {
  const labels = datasetLabels(ds);
  const key = latentCacheKey({ encoder: src.encoderSpec, selection: src.selection, imageSize: src.imageSize, stats: src.stats, data: o.data, dataset: ds, labels });
  return cached(o.cacheDir && path.join(o.cacheDir, `${name}.latents.safetensors`), key, o.recache, async () => {
    const bar = progress({ label: `encode ${name} latents`, total: ds.size, unit: 'img' });
    const set = await encodeLatentSet(imageChunks(ds, src.imageSize, o.batch), ds.size, src.grid, (x) => encodeStandardized(src, x), (n) => bar.update(n));
    bar.finish();
    return set;
  });
}

/** Real features of one split in an image feature space ([count, 1, d]), from cache or computed now. */
export async function splitImageFeatures(name: string, ds: ImageDataset, space: FeatureSpace, src: Pick<LatentSource, 'imageSize'>, o: PrepareOptions): Promise<LatentSet> {
  if (space.input !== 'images') throw new Error(`feature space "${space.name}" reads latents, not images`);
  const labels = datasetLabels(ds);
  const key = latentCacheKey({ encoder: `features:${space.name}:${space.dim}`, selection: { layers: [] }, imageSize: src.imageSize, stats: null, data: o.data, dataset: ds, labels });
  return cached(o.cacheDir && path.join(o.cacheDir, `${name}.${space.name.replace(/[^\w.-]/g, '_')}.features.safetensors`), key, o.recache, async () => {
    const bar = progress({ label: `${space.name} features (${name})`, total: ds.size, unit: 'img' });
    const features = (x: Tensor) => tf.tidy(() => space.features(x).expandDims(1));
    const set = await encodeLatentSet(imageChunks(ds, src.imageSize, o.batch), ds.size, [1, 1], features, (n) => bar.update(n));
    bar.finish();
    return set;
  });
}

/** Both splits' latents and image features for `spaces`. */
export async function prepareReal(splits: { train: ImageDataset; heldOut: ImageDataset | null }, spaces: FeatureSpace[], src: LatentSource, o: PrepareOptions): Promise<{ train: RealSplit; heldOut: RealSplit | null }> {
  const one = async (name: string, ds: ImageDataset): Promise<RealSplit> => {
    const latents = await splitLatents(name, ds, src, o);
    const imageFeatures: Record<string, LatentSet> = {};
    for (const s of spaces) if (s.input === 'images') imageFeatures[s.name] = await splitImageFeatures(name, ds, s, src, o);
    return { latents, imageFeatures };
  };
  return { train: await one('train', splits.train), heldOut: splits.heldOut && splits.heldOut.size > 0 ? await one('heldout', splits.heldOut) : null };
}

async function cached(file: string | null, key: LatentCacheKey, recache: boolean | undefined, build: () => Promise<LatentSet>): Promise<LatentSet> {
  if (file && !recache) {
    const hit = readLatentCache(file, key);
    if (hit) return hit;
  }
  const set = await build();
  if (file) writeLatentCache(file, set, key);
  return set;
}
