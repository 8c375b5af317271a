/**
 * Image datasets: an indexable list of items (image file, optional class label, optional caption),
 * with seeded train / held-out splits. Pixels are read by the loader (`loader.ts`), not here.
 */
import { Rng } from '../runtime/rng.js';

export interface DatasetItem {
  /** Stable id of the item (relative path, manifest line, emoji code point…). */
  key: string;
  /** Image file. */
  path: string;
  /** Class index into the dataset's `classes`. */
  label?: number;
  /** Caption / name (text-to-image conditioning). */
  text?: string;
}

export interface ImageDataset {
  /** Where it came from, for messages. */
  readonly name: string;
  readonly size: number;
  /** Class names when the items carry labels. */
  readonly classes?: string[];
  get(i: number): DatasetItem;
}

/** Image file extensions the loaders pick up: exactly what sharp decodes (its prebuilt libvips has no BMP reader). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif'];

/** Image types sharp cannot decode: folders report them instead of skipping them silently. */
export const UNREADABLE_IMAGE_EXTENSIONS = ['.bmp', '.ico', '.psd', '.tga'];

/** A dataset over a fixed list of items. */
export function arrayDataset(name: string, items: DatasetItem[], classes?: string[]): ImageDataset {
  return {
    name,
    size: items.length,
    classes,
    get(i: number): DatasetItem {
      const it = items[i];
      if (it == null) throw new RangeError(`${name}: index ${i} is out of range [0, ${items.length})`);
      return it;
    },
  };
}

/** The items at `indices` (a view; classes are kept). */
export function subset(ds: ImageDataset, indices: readonly number[], name = `${ds.name} (subset)`): ImageDataset {
  for (const i of indices) if (!Number.isInteger(i) || i < 0 || i >= ds.size) throw new RangeError(`${ds.name}: subset index ${i} is out of range [0, ${ds.size})`);
  const idx = [...indices];
  return { name, size: idx.length, classes: ds.classes, get: (i: number) => ds.get(idx[i] ?? -1) };
}

export interface SplitOptions {
  /** Held-out share: a fraction in (0, 1) or a count ≥ 1. */
  heldOut: number;
  seed?: number;
}

/**
 * Deterministic train / held-out split: a seeded permutation picks the held-out items; both parts
 * keep the original order. The same seed and size always give the same split.
 */
export function splitDataset(ds: ImageDataset, opts: SplitOptions): { train: ImageDataset; heldOut: ImageDataset } {
  const h = opts.heldOut;
  const count = h > 0 && h < 1 ? Math.round(h * ds.size) : h;
  if (!Number.isInteger(count) || count < 0 || count >= ds.size) {
    throw new Error(`${ds.name}: held-out size ${h} must be a fraction in (0, 1) or a count in [0, ${ds.size - 1}] (dataset has ${ds.size} items)`);
  }
  const perm = new Rng(opts.seed ?? 0).permutation(ds.size);
  const held = new Set(perm.slice(0, count));
  const train: number[] = [], out: number[] = [];
  for (let i = 0; i < ds.size; i++) (held.has(i) ? out : train).push(i);
  return { train: subset(ds, train, `${ds.name} (train)`), heldOut: subset(ds, out, `${ds.name} (held-out)`) };
}

/** Number of items per class (index = label). */
export function classCounts(ds: ImageDataset): number[] {
  const counts = new Array<number>(ds.classes?.length ?? 0).fill(0);
  for (let i = 0; i < ds.size; i++) {
    const l = ds.get(i).label;
    if (l != null) counts[l] = (counts[l] ?? 0) + 1;
  }
  return counts;
}
