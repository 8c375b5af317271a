/**
 * Batches of images from an ImageDataset: seeded per-epoch shuffling, images decoded with sharp
 * (`readImages`: resized, alpha composited) into NHWC float32 [0, 1], an optional in-memory cache of
 * the decoded pixels for small datasets, and one batch of read-ahead.
 */
import { tf, type Tensor } from '../runtime/tf.js';
import { Rng } from '../runtime/rng.js';
import { readImages, type ImageFit } from '../io/image.js';
import type { ImageDataset } from './dataset.js';

/** Reads image files into one NHWC float32 [0, 1] tensor of the given size [H, W]. */
export type ImageReader = (paths: string[], size: [number, number]) => Promise<Tensor>;

export interface LoaderOptions {
  batchSize: number;
  /** Output size [H, W], or one side for square images. */
  size: number | [number, number];
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  seed?: number;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
  /** Keep decoded pixels in memory: true, false, or 'auto' (default: when the whole dataset fits in cacheLimitMB). */
  cache?: boolean | 'auto';
  cacheLimitMB?: number;
  /** Resize mode and alpha background for the default reader (`readImages`: 'cover', white). */
  fit?: ImageFit;
  background?: 'white' | 'black';
  /** Image decoder (default: sharp via `readImages`). */
  read?: ImageReader;
}

export interface Batch {
  /** [B, H, W, 3] float32 in [0, 1]; the consumer disposes it. */
  images: Tensor;
  /** Dataset indices of the rows. */
  indices: number[];
  keys: string[];
  /** Class per row (−1 where an item has none); only for datasets with classes. */
  labels?: Int32Array;
  /** Caption per row ('' where an item has none); only when some item has text. */
  texts?: string[];
}

export class ImageLoader {
  readonly size: [number, number];
  readonly batchSize: number;
  private readonly cache: Map<number, Float32Array> | null;
  private readonly read: ImageReader;
  private readonly hasText: boolean;

  constructor(readonly dataset: ImageDataset, readonly opts: LoaderOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new Error(`batch size must be a positive integer, got ${opts.batchSize}`);
    if (dataset.size === 0) throw new Error(`${dataset.name}: the dataset is empty`);
    this.batchSize = opts.batchSize;
    this.size = typeof opts.size === 'number' ? [opts.size, opts.size] : opts.size;
    const bytes = dataset.size * this.size[0] * this.size[1] * 3 * 4;
    const cache = opts.cache ?? 'auto';
    this.cache = cache === true || (cache === 'auto' && bytes <= (opts.cacheLimitMB ?? 1024) * 2 ** 20) ? new Map() : null;
    this.read = opts.read ?? ((paths, size) => readImages(paths, size, { fit: opts.fit, background: opts.background }));
    let text = false;
    for (let i = 0; i < dataset.size && !text; i++) text = dataset.get(i).text != null;
    this.hasText = text;
  }

  /** Whether decoded pixels are kept in memory. */
  get caching(): boolean {
    return this.cache != null;
  }

  /** Batches per epoch. */
  get batchesPerEpoch(): number {
    const n = this.dataset.size / this.batchSize;
    return this.opts.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** Item order of an epoch: a permutation seeded by (seed, epoch), so a resumed run sees the same order. */
  order(epoch: number): number[] {
    if (this.opts.shuffle === false) return [...Array(this.dataset.size).keys()];
    return new Rng(((this.opts.seed ?? 0) ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0).permutation(this.dataset.size);
  }

  /** The batches of one epoch from batch `start` on; the next batch is decoded while the current one is used. */
  async *epoch(epoch = 0, start = 0): AsyncGenerator<Batch> {
    const order = this.order(epoch);
    const nb = this.batchesPerEpoch;
    const slice = (b: number) => order.slice(b * this.batchSize, Math.min((b + 1) * this.batchSize, order.length));
    let next: Promise<Batch> | null = start < nb ? this.load(slice(start)) : null;
    try {
      for (let b = start; b < nb; b++) {
        const cur = await next!;
        next = b + 1 < nb ? this.load(slice(b + 1)) : null;
        yield cur;
      }
    } finally {
      // the consumer stopped early: release the read-ahead batch
      if (next) (await next.catch(() => null))?.images.dispose();
    }
  }

  /** One batch of the given dataset indices, in that order. */
  async load(indices: number[]): Promise<Batch> {
    const [h, w] = this.size, px = h * w * 3;
    const items = indices.map((i) => this.dataset.get(i));
    let images: Tensor;
    const cache = this.cache;
    if (cache == null) images = await this.readChecked(indices);
    else {
      const missing = [...new Set(indices.filter((i) => !cache.has(i)))];
      if (missing.length > 0) {
        const t = await this.readChecked(missing);
        const data = t.dataSync() as Float32Array;
        t.dispose();
        missing.forEach((i, k) => cache.set(i, data.slice(k * px, (k + 1) * px)));
      }
      const buf = new Float32Array(indices.length * px);
      indices.forEach((i, r) => buf.set(cache.get(i)!, r * px));
      images = tf.tensor4d(buf, [indices.length, h, w, 3]);
    }
    const batch: Batch = { images, indices: [...indices], keys: items.map((it) => it.key) };
    if (this.dataset.classes) batch.labels = Int32Array.from(items, (it) => it.label ?? -1);
    if (this.hasText) batch.texts = items.map((it) => it.text ?? '');
    return batch;
  }

  /** Forget cached pixels. */
  clearCache(): void {
    this.cache?.clear();
  }

  /** Read files; on failure find the culprit so the error names the file and the item. */
  private async readChecked(indices: number[]): Promise<Tensor> {
    const paths = indices.map((i) => this.dataset.get(i).path);
    try {
      const t = await this.read(paths, this.size);
      const [n, h, w, c] = t.shape;
      if (n !== paths.length || h !== this.size[0] || w !== this.size[1] || c !== 3) {
        t.dispose();
        throw new Error(`image reader returned [${t.shape}] for ${paths.length} images of ${this.size.join('×')}`);
      }
      return t;
    } catch (e) {
      for (const [k, p] of paths.entries()) {
        try {
          (await this.read([p], this.size)).dispose();
        } catch (inner) {
          const it = this.dataset.get(indices[k]);
          throw new Error(`${this.dataset.name}: cannot read image ${p} (item ${indices[k]}, "${it.key}"): ${(inner as Error).message}`);
        }
      }
      throw new Error(`${this.dataset.name}: reading a batch of ${paths.length} images failed: ${(e as Error).message}`);
    }
  }
}
