/**
 * Training images decoded once to 8-bit RGB at the decoder's output size and kept in memory (stage-1
 * runs are CPU-sized: 3.8k emoji at 112 px are 140 MB). Decoding everything up front also validates
 * every file before any training work starts, so a corrupt image is reported by name at once.
 */
import { tf, type Tensor } from '../runtime/tf.js';
import { readImageBytes } from '../io/image.js';
import type { ImageDataset } from '../data/dataset.js';

/** One image file → RGB bytes [h, w, 3] at (h, w): alpha composited on white, scaled and centre-cropped (errors name the file). */
export async function readImageRgb(file: string, [h, w]: [number, number]): Promise<Uint8Array> {
  const img = await readImageBytes(file, { size: [h, w], fit: 'cover' });
  if (img.height !== h || img.width !== w) throw new Error(`cannot read image ${file}: decoded to ${img.width}×${img.height}, expected ${w}×${h}`);
  return img.data;
}

export class ImageStore {
  private constructor(
    readonly name: string,
    readonly size: [number, number],
    private readonly pixels: Uint8Array,
    readonly count: number,
    readonly keys: string[],
  ) {}

  /** Decode every item of `ds` at `size` (h, w); `onProgress(done)` after each chunk. */
  static async load(ds: ImageDataset, size: [number, number], onProgress?: (done: number) => void, concurrency = 16): Promise<ImageStore> {
    const [h, w] = size;
    const per = h * w * 3;
    if (ds.size === 0) throw new Error(`${ds.name}: no images`);
    const pixels = new Uint8Array(ds.size * per);
    const keys: string[] = [];
    for (let i = 0; i < ds.size; i += concurrency) {
      const items = Array.from({ length: Math.min(concurrency, ds.size - i) }, (_, k) => ds.get(i + k));
      const decoded = await Promise.all(items.map((it) => readImageRgb(it.path, size)));
      decoded.forEach((d, k) => pixels.set(d, (i + k) * per));
      keys.push(...items.map((it) => it.key));
      onProgress?.(i + items.length);
    }
    return new ImageStore(ds.name, size, pixels, ds.size, keys);
  }

  /** Images at `indices` → float32 NHWC [B, h, w, 3] in [0, 1]. */
  batch(indices: readonly number[]): Tensor {
    const [h, w] = this.size, per = h * w * 3;
    const out = new Float32Array(indices.length * per);
    indices.forEach((i, k) => {
      if (!(i >= 0 && i < this.count)) throw new RangeError(`${this.name}: image index ${i} is out of range [0, ${this.count})`);
      const src = this.pixels.subarray(i * per, (i + 1) * per);
      for (let j = 0; j < per; j++) out[k * per + j] = src[j] / 255;
    });
    return tf.tensor4d(out, [indices.length, h, w, 3]);
  }

  /** Consecutive index ranges [start, end) of at most `batch` images, covering the store once. */
  *ranges(batch: number): Generator<number[]> {
    for (let i = 0; i < this.count; i += batch) yield Array.from({ length: Math.min(batch, this.count - i) }, (_, k) => i + k);
  }
}
