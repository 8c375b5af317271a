/**
 * Latent standardisation (docs/method.md, "Latent standardisation"): per-position, per-channel mean
 * and population variance ([N, C]) of the noise-free raw latent, accumulated over a dataset pass with
 * a chunked Welford merge in float64 (Chan et al.), then z' = (z − μ)/√(σ² + ε) on encode and its
 * inverse on decode. `latentStatsOf` is the one function that computes them.
 */
import * as fs from 'node:fs';
import { tf, type Tensor } from '../runtime/tf.js';
import { SafetensorsFile, saveSafetensors } from '../io/safetensors.js';
import type { Encoder } from '../encoder.js';
import { rawLatent, type LayerSelection } from './latent.js';

/** ε inside the square root, as upstream RAE. */
export const STATS_EPS = 1e-5;

/** Mean/variance tensors [N, C] (mean may be absent: treated as 0). */
export interface LatentStats {
  mean: Tensor | null;
  var: Tensor;
  eps?: number;
}

/** Running per-element statistics over batches of [B, ...shape] (count shared by all elements). */
export class Welford {
  count = 0;
  readonly mean: Float64Array;
  /** Sum of squared deviations from the mean. */
  readonly m2: Float64Array;

  constructor(readonly shape: number[]) {
    const n = shape.reduce((a, b) => a * b, 1);
    this.mean = new Float64Array(n);
    this.m2 = new Float64Array(n);
  }

  /** Add a batch [B, ...shape] (tensor or flat array of B·size values). */
  update(batch: Tensor | ArrayLike<number>): this {
    const size = this.mean.length;
    let data: ArrayLike<number>;
    if (batch instanceof tf.Tensor) {
      const s = batch.shape.slice(1);
      if (s.length !== this.shape.length || s.some((v, i) => v !== this.shape[i])) throw new Error(`Welford: batch [${batch.shape}] does not match [B, ${this.shape}]`);
      data = batch.dataSync();
    } else data = batch;
    if (data.length % size !== 0) throw new Error(`Welford: ${data.length} values are not a whole number of [${this.shape}] samples`);
    const nb = data.length / size;
    if (nb === 0) return this;
    // the batch's own mean and M2 (two passes, float64), then one parallel merge
    const bm = new Float64Array(size), b2 = new Float64Array(size);
    for (let s = 0; s < nb; s++) for (let i = 0, o = s * size; i < size; i++) bm[i] += data[o + i];
    for (let i = 0; i < size; i++) bm[i] /= nb;
    for (let s = 0; s < nb; s++) for (let i = 0, o = s * size; i < size; i++) { const d = data[o + i] - bm[i]; b2[i] += d * d; }
    this.mergeMoments(nb, bm, b2);
    return this;
  }

  /** Merge another accumulator (e.g. from another worker). */
  merge(other: Welford): this {
    if (other.mean.length !== this.mean.length) throw new Error('Welford: merging accumulators of different shapes');
    if (other.count > 0) this.mergeMoments(other.count, other.mean, other.m2);
    return this;
  }

  private mergeMoments(nb: number, bm: ArrayLike<number>, b2: ArrayLike<number>): void {
    const na = this.count, n = na + nb;
    for (let i = 0; i < this.mean.length; i++) {
      const delta = bm[i] - this.mean[i];
      this.mean[i] += (delta * nb) / n;
      this.m2[i] += b2[i] + (delta * delta * na * nb) / n;
    }
    this.count = n;
  }

  /** Population variance (M2 / count). */
  variance(): Float64Array {
    if (this.count === 0) throw new Error('Welford: no samples accumulated');
    return this.m2.map((v) => v / this.count);
  }

  /** Statistics as float32 tensors of `shape`. */
  toStats(): LatentStats {
    return { mean: tf.tensor(Float32Array.from(this.mean), this.shape), var: tf.tensor(Float32Array.from(this.variance()), this.shape) };
  }
}

/** Image batches NHWC [0,1]: an iterable of tensors (each disposed after use) or an indexed store (e.g. stage 1's ImageStore). */
export type ImageBatches = Iterable<Tensor> | { ranges(batch: number): Iterable<number[]>; batch(indices: readonly number[]): Tensor; readonly name?: string };

/** Raw latents already computed, flat [count · N · C] in image order. */
export interface PrecomputedLatents {
  latents: Float32Array;
  /** [N, C] */
  shape: [number, number];
}

/** Latent statistics with the number of images they were accumulated over. */
export type CountedLatentStats = LatentStats & { count: number };

/**
 * The latent statistics: Welford over the noise-free raw latent ([N, C] mean and population variance)
 * of every image (`rawLatent` of encoder + selection), `batch` images per forward pass, or over
 * precomputed raw latents (`encoder` null). `onProgress(done)` after each batch.
 */
export function latentStatsOf(
  encoder: Encoder | null,
  selection: LayerSelection | null,
  images: ImageBatches | PrecomputedLatents,
  batch = 16,
  onProgress?: (done: number) => void,
): CountedLatentStats {
  let acc: Welford | null = null;
  if ('latents' in images) {
    acc = new Welford(images.shape).update(images.latents);
    onProgress?.(acc.count);
  } else {
    if (encoder == null || selection == null) throw new Error('latentStatsOf: images need an encoder and a layer selection');
    const batches: Iterable<Tensor> = Symbol.iterator in images ? images : indexedBatches(images, batch);
    for (const x of batches) {
      let z: Tensor;
      try {
        z = rawLatent(encoder, selection, x);
      } finally {
        x.dispose();
      }
      try {
        acc ??= new Welford(z.shape.slice(1));
        acc.update(z);
      } finally {
        z.dispose();
      }
      onProgress?.(acc.count);
    }
  }
  if (acc == null || acc.count === 0) throw new Error(`${('name' in images && images.name) || 'the data'}: no images for latent statistics`);
  return { ...acc.toStats(), count: acc.count };
}

function* indexedBatches(store: { ranges(batch: number): Iterable<number[]>; batch(indices: readonly number[]): Tensor }, batch: number): Generator<Tensor> {
  for (const idx of store.ranges(batch)) yield store.batch(idx);
}

/** z [B, N, C] → (z − μ)/√(σ² + ε). */
export function standardize(z: Tensor, stats: LatentStats): Tensor {
  return tf.tidy(() => {
    const zc = stats.mean ? z.sub(stats.mean) : z;
    return zc.mul(stats.var.add(stats.eps ?? STATS_EPS).rsqrt());
  });
}

/** z' [B, N, C] → z'·√(σ² + ε) + μ. */
export function destandardize(z: Tensor, stats: LatentStats): Tensor {
  return tf.tidy(() => {
    const zs = z.mul(stats.var.add(stats.eps ?? STATS_EPS).sqrt());
    return stats.mean ? zs.add(stats.mean) : zs;
  });
}

export function disposeStats(stats: LatentStats): void {
  stats.mean?.dispose();
  stats.var.dispose();
}

/**
 * The metadata a statistics file carries: the encoder spec, the selected blocks, the image count and,
 * when given, the data source (a path in it is the caller's to make relative: exports strip paths).
 */
export function latentStatsMetadata(o: { encoder: string; selection: LayerSelection; count: number; data?: string }): Record<string, string> {
  return { encoder: o.encoder, layers: o.selection.layers.join('.'), count: String(o.count), ...(o.data != null ? { data: o.data } : {}) };
}

/** Write `mean` and `var` ([N, C], float32) to a safetensors file (atomically). */
export function saveStats(file: string, stats: LatentStats, metadata: Record<string, string> = {}): void {
  const tensors: Record<string, Tensor> = { var: stats.var };
  if (stats.mean) tensors.mean = stats.mean;
  saveSafetensors(file, tensors, { metadata: { format: 'raev2-latent-stats', ...metadata } });
}

/**
 * Read `var` (required) and `mean` (optional → 0) from safetensors. Accepts token layout [N, C],
 * upstream RAE's channels-first [C, h, w] or [1, C, h, w] (converted to [N, C]), and per-channel [C].
 * `expect` ([N, C]) checks the shape, naming the file.
 */
export function loadStats(file: string, expect?: [number, number]): LatentStats {
  if (!fs.existsSync(file)) throw new Error(`latent statistics file ${file} not found`);
  const f = SafetensorsFile.open(file);
  try {
    if (!f.tensors.has('var')) throw new Error(`${file}: no "var" tensor (found: ${f.keys().join(', ') || 'none'})`);
    const read = (k: string) => toTokenLayout(f.read(k), file, k, expect);
    const v = read('var');
    const mean = f.tensors.has('mean') ? read('mean') : null;
    if (mean && !sameShape(mean.shape, v.shape)) throw new Error(`${file}: mean [${mean.shape}] and var [${v.shape}] differ in shape`);
    if (tf.tidy(() => v.less(0).any().dataSync()[0])) throw new Error(`${file}: "var" has negative entries`);
    return { mean, var: v };
  } finally {
    f.close();
  }
}

function toTokenLayout(t: Tensor, file: string, key: string, expect?: [number, number]): Tensor {
  const r = tf.tidy(() => {
    const x = t.toFloat();
    const s: number[] = x.shape;
    if (s.length === 4 && s[0] === 1) return x.reshape([s[1], -1]).transpose();
    if (s.length === 3) return x.reshape([s[0], -1]).transpose();
    if (x.rank === 1 || x.rank === 2) return x;
    throw new Error(`${file}: "${key}" has shape [${t.shape}]; expected [N, C], [C, h, w], [1, C, h, w] or [C]`);
  });
  t.dispose();
  if (expect) {
    const ok = r.rank === 1 ? r.shape[0] === expect[1] : sameShape(r.shape, expect);
    if (!ok) {
      r.dispose();
      throw new Error(`${file}: "${key}" has shape [${t.shape}] but the latent is [N=${expect[0]}, C=${expect[1]}]`);
    }
  }
  return r;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
