/**
 * The demo's data: the Google-style 64-px emoji of `emoji-datasource-google`, class = Unicode
 * category. Categories with fewer than `minPerClass` images are dropped (by default only
 * "Component": the five skin-tone swatches). Skin-tone variants are left out by default: they are
 * near-copies of the people emoji and would make "People & Body" 60 % of the data.
 * The selection is written as a JSONL manifest, so both training stages (and the `raev2` commands)
 * read exactly the same items and make exactly the same train / held-out split.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { classCounts, emojiDataset, readJsonFile, writeFileAtomic, type ImageDataset } from '@raev2/core';

export const DEMO_MIN_PER_CLASS = 40;

export interface DemoData {
  /** `manifest:<file>` data source for the stage configs. */
  source: string;
  manifest: string;
  /** Kept categories (sorted, = label order) with their image counts. */
  classes: { name: string; count: number }[];
  /** Categories dropped for having too few images. */
  dropped: { name: string; count: number }[];
  total: number;
}

const ClassCount = z.object({ name: z.string(), count: z.number().int().nonnegative() }).strict();

/** `work/data.json`: the selection (`DemoData`) with the split sizes and the skin-tone choice. */
export const DataInfoSchema = z
  .object({
    source: z.string(),
    manifest: z.string(),
    classes: z.array(ClassCount),
    dropped: z.array(ClassCount),
    total: z.number().int().nonnegative(),
    train: z.number().int().nonnegative(),
    heldOut: z.number().int().nonnegative(),
    skinTones: z.boolean(),
  })
  .strict();
export type DataInfo = z.infer<typeof DataInfoSchema>;

export function writeDataInfo(work: string, info: DataInfo): void {
  writeFileAtomic(path.join(work, 'data.json'), JSON.stringify(DataInfoSchema.parse(info), null, 2) + '\n');
}

export function readDataInfo(work: string): DataInfo {
  const f = path.join(work, 'data.json');
  if (!fs.existsSync(f)) throw new Error(`${f} is missing; pass --fresh to start over`);
  return readJsonFile(DataInfoSchema, f);
}

export interface DemoDataOptions {
  /** Categories to keep (names as in emoji.json); default every category with ≥ minPerClass images. */
  classes?: string[];
  skinTones?: boolean;
  minPerClass?: number;
  /** Keep at most this many images per class (the first ones in emoji order; quick mode). */
  maxPerClass?: number;
}

/** Select the emoji and write `<dir>/emoji.jsonl` (image paths relative to it). */
export function writeDemoManifest(dir: string, opts: DemoDataOptions = {}): DemoData {
  const ds = emojiDataset({ style: 'google', skinTones: opts.skinTones ?? false });
  const names = ds.classes!;
  const counts = classCounts(ds);
  const min = opts.minPerClass ?? DEMO_MIN_PER_CLASS;
  if (opts.classes) {
    const unknown = opts.classes.filter((c) => !names.includes(c));
    if (unknown.length) throw new Error(`--classes: ${unknown.map((c) => `"${c}"`).join(', ')} not an emoji category (categories: ${names.join(', ')})`);
    if (opts.classes.length < 2) throw new Error('--classes: give at least 2 categories (the demo is class-conditional)');
  }
  const keep = new Set(opts.classes ?? names.filter((_, i) => counts[i] >= min));
  const dropped = names.map((name, i) => ({ name, count: counts[i] })).filter((c) => !keep.has(c.name));
  const file = path.join(dir, 'emoji.jsonl');
  const taken = new Map<string, number>();
  const lines: string[] = [];
  for (let i = 0; i < ds.size; i++) {
    const it = ds.get(i);
    const cls = names[it.label!];
    if (!keep.has(cls)) continue;
    const n = taken.get(cls) ?? 0;
    if (opts.maxPerClass != null && n >= opts.maxPerClass) continue;
    taken.set(cls, n + 1);
    lines.push(JSON.stringify({ image: path.relative(dir, it.path), label: cls, text: it.text }));
  }
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(file, lines.join('\n') + '\n');
  const classes = [...keep].sort().map((name) => ({ name, count: taken.get(name) ?? 0 }));
  return { source: `manifest:${file}`, manifest: file, classes, dropped, total: lines.length };
}

/** Class sizes of a dataset as (name, count) pairs. */
export function classTable(ds: ImageDataset): { name: string; count: number }[] {
  const counts = classCounts(ds);
  return (ds.classes ?? []).map((name, i) => ({ name, count: counts[i] }));
}
