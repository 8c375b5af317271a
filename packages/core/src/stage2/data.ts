/**
 * Stage-2 data: the labelled training and held-out splits of a data source (optionally restricted
 * to named classes, renumbered in the given order), and their images streamed in chunks — decoded
 * the way stage 1 decoded them, at the encoder's input size — into latents or features.
 */
import type { Tensor } from '../runtime/tf.js';
import { arrayDataset, subset, type ImageDataset } from '../data/dataset.js';
import { openDataSource, stage1Split } from '../stage1/data.js';
import { ImageStore } from '../stage1/images.js';

export interface Stage2Data {
  train: ImageDataset;
  heldOut: ImageDataset | null;
  /** Class names; index = label. A dataset without classes has one class, `all`. */
  classes: string[];
}

/** Open `source`, keep `classes` (when given), split off the held-out part. Every item gets a label. */
export function stage2Data(o: { data: string; classes?: string[]; heldOut: number; splitSeed: number; maxImages?: number }): Stage2Data {
  let ds = openDataSource(o.data);
  let classes = ds.classes ?? ['all'];
  if (ds.classes == null) ds = arrayDataset(ds.name, Array.from({ length: ds.size }, (_, i) => ({ ...ds.get(i), label: 0 })), classes);
  if (o.classes) {
    const known = new Map(classes.map((c, i) => [c, i]));
    const missing = o.classes.filter((c) => !known.has(c));
    if (missing.length) throw new Error(`classes ${missing.map((c) => `"${c}"`).join(', ')} are not in ${o.data} (its classes: ${classes.join(', ')})`);
    const remap = new Map(o.classes.map((c, i) => [known.get(c)!, i]));
    const items = [];
    for (let i = 0; i < ds.size; i++) {
      const it = ds.get(i);
      const l = remap.get(it.label ?? -1);
      if (l != null) items.push({ ...it, label: l });
    }
    classes = [...o.classes];
    ds = arrayDataset(`${ds.name} [${classes.join(', ')}]`, items, classes);
  }
  const { train, heldOut } = stage1Split(ds, o.heldOut, o.splitSeed, o.maxImages);
  return { train, heldOut, classes };
}

/** Labels of every item (in order). */
export function datasetLabels(ds: ImageDataset): Int32Array {
  return Int32Array.from({ length: ds.size }, (_, i) => ds.get(i).label ?? 0);
}

/** Images NHWC [B, h, w, 3] in [0, 1] with their labels, `chunk` items at a time, in dataset order. */
export async function* imageChunks(ds: ImageDataset, size: [number, number], chunk: number): AsyncGenerator<{ images: Tensor; labels: number[]; indices: number[] }> {
  for (let i = 0; i < ds.size; i += chunk) {
    const idx = Array.from({ length: Math.min(chunk, ds.size - i) }, (_, k) => i + k);
    const store = await ImageStore.load(subset(ds, idx), size);
    const all = Array.from({ length: idx.length }, (_, k) => k);
    yield { images: store.batch(all), labels: idx.map((j) => ds.get(j).label ?? 0), indices: idx };
  }
}

/** Count of each class among `labels`. */
export function labelCounts(labels: ArrayLike<number>, numClasses: number): number[] {
  const c = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) c[labels[i]]++;
  return c;
}
