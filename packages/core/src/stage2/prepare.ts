/**
 * The real data a stage-2 run trains on and compares with: standardised latents of each split and,
 * per image feature space, the real images' features — read from the keyed caches in `cacheDir`, or
 * computed once (with progress) and written there. Image features are stored like latents, as sets
 * of [count, 1, d].
 */
import * as path from 'node:path';
import { tf, type Tensor } from '../runtime/tf.js';
import type { Encoder } from '../encoder.js';
import { subset, type ImageDataset } from '../data/dataset.js';
import { Rng } from '../runtime/rng.js';
import type { LayerSelection } from '../rae/latent.js';
import { standardize, type LatentStats } from '../rae/stats.js';
import { rawLatent } from '../rae/latent.js';
import type { FeatureSpace } from '../metrics/generation.js';
import { progress } from '../util/progress.js';
import { datasetLabels, imageChunks } from './data.js';
import { encodeLatentSet, latentCacheKey, readLatentCache, selectRows, writeLatentCache, type LatentCacheKey, type LatentSet } from './latents.js';
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

/** Real data of a run: all training latents, and the FD reference sets — a seeded subset of at most `maxReference` training images, and the held-out split — with their image features for `spaces`. */
export interface RealData {
  /** Every training latent (what the DiT trains on and the probe learns from). */
  trainLatents: LatentSet;
  /** The FD reference: the training images (or a seeded subset of `maxReference`) with their features. */
  train: RealSplit;
  heldOut: RealSplit | null;
}

/** Both splits' latents, and image features for `spaces` on the reference subset and the held-out split. */
export async function prepareReal(splits: { train: ImageDataset; heldOut: ImageDataset | null }, spaces: FeatureSpace[], src: LatentSource, o: PrepareOptions & { maxReference?: number; seed?: number }): Promise<RealData> {
  const features = async (name: string, ds: ImageDataset) => {
    const out: Record<string, LatentSet> = {};
    for (const s of spaces) if (s.input === 'images') out[s.name] = await splitImageFeatures(name, ds, s, src, o);
    return out;
  };
  const trainLatents = await splitLatents('train', splits.train, src, o);
  const n = splits.train.size, max = o.maxReference ?? n;
  const refIdx = max >= n ? range(n) : new Rng(o.seed ?? 0).permutation(n).slice(0, max).sort((a, b) => a - b);
  const train: RealSplit = max >= n
    ? { latents: trainLatents, imageFeatures: await features('train', splits.train) }
    : { latents: selectRows(trainLatents, refIdx), imageFeatures: await features(`train-ref${max}`, subset(splits.train, refIdx)) };
  let heldOut: RealSplit | null = null;
  if (splits.heldOut && splits.heldOut.size > 0) heldOut = { latents: await splitLatents('heldout', splits.heldOut, src, o), imageFeatures: await features('heldout', splits.heldOut) };
  return { trainLatents, train, heldOut };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
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
