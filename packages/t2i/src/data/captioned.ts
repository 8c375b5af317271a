/**
 * Captioned image datasets for text-to-image: a list of images, each with one or more captions
 * (and, for the built-in emoji set, the attributes its captions were composed from). Two user
 * formats: an image folder with same-named `.txt` caption files, and a JSONL manifest
 * (`{"image", "caption"}` or `{"image", "captions": [...]}`). Both are validated before any work,
 * with errors naming the file and line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { IMAGE_EXTENSIONS, readJsonLines } from '@raev2/core';

/** One training image with its captions. */
export interface CaptionedItem {
  /** Stable id (relative path, manifest line, emoji code point). */
  key: string;
  /** Image file. */
  path: string;
  /** Training captions (≥ 1, lower case for the built-in set). */
  captions: string[];
  /** A held-back paraphrase of the first caption (built-in set only; never used for training). */
  paraphrase?: string;
  /** Factor values the captions were composed from (role, gender, tone, colour, shape, tones). */
  attributes?: Record<string, string>;
  /** Sampling group for group-balanced training (train/balance.ts): a manifest line's "group" (the emoji set uses its kind). */
  group?: string;
}

export interface CaptionedDataset {
  /** Where it came from, for messages. */
  readonly name: string;
  readonly items: readonly CaptionedItem[];
}

const caption = z.string().refine((s) => s.trim().length > 0, 'caption is empty');

/** One manifest line: one caption or several. */
export const CaptionLineSchema = z.union([
  z.object({ image: z.string().min(1), caption, group: z.string().min(1).optional() }).strict(),
  z.object({ image: z.string().min(1), captions: z.array(caption).min(1), group: z.string().min(1).optional() }).strict(),
]);

/** A JSONL manifest of captioned images; image paths are relative to the manifest's folder. */
export function captionManifest(file: string, opts: { checkFiles?: boolean } = {}): CaptionedDataset {
  const base = path.dirname(path.resolve(file));
  const items: CaptionedItem[] = [];
  for (const { line, where, json } of readJsonLines(file, 'caption manifest')) {
    const r = CaptionLineSchema.safeParse(json);
    if (!r.success) throw new Error(`${where}: ${describeLineError(json)} (expected {"image": path, "caption": text} or {"image": path, "captions": [text, …]}, optionally "group": name)`);
    const entry = r.data;
    const p = path.resolve(base, entry.image);
    if ((opts.checkFiles ?? true) && !fs.existsSync(p)) throw new Error(`${where}: image ${entry.image} not found (resolved to ${p})`);
    items.push({ key: `${entry.image}#${line}`, path: p, captions: 'caption' in entry ? [entry.caption] : entry.captions, ...(entry.group ? { group: entry.group } : {}) });
  }
  if (items.length === 0) throw new Error(`caption manifest ${file} has no entries`);
  return { name: file, items };
}

/** The first thing wrong with a manifest line, in words. */
function describeLineError(json: unknown): string {
  if (json == null || typeof json !== 'object' || Array.isArray(json)) return 'a line must be a JSON object';
  const o = json as Record<string, unknown>;
  if (typeof o.image !== 'string' || o.image === '') return 'missing "image" (a non-empty path)';
  if (o.caption == null && o.captions == null) return 'missing "caption" (or "captions")';
  if (o.caption != null && o.captions != null) return 'give "caption" or "captions", not both';
  if (o.caption != null && (typeof o.caption !== 'string' || o.caption.trim() === '')) return '"caption" must be a non-empty string';
  if (o.captions != null && (!Array.isArray(o.captions) || o.captions.length === 0 || o.captions.some((c) => typeof c !== 'string' || c.trim() === ''))) {
    return '"captions" must be a non-empty array of non-empty strings';
  }
  const extra = Object.keys(o).filter((k) => !['image', 'caption', 'captions'].includes(k));
  return `unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => `"${k}"`).join(', ')}`;
}

/**
 * An image folder (walked recursively, sorted) where every image `x.png` has a caption file `x.txt`
 * beside it (one caption per non-empty line). A caption file without an image, or an image without
 * a caption file, is an error naming the file.
 */
export function captionFolder(dir: string): CaptionedDataset {
  const root = path.resolve(dir);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new Error(`caption folder ${dir} is not a directory`);
  const exts = new Set(IMAGE_EXTENSIONS);
  const images = new Map<string, string>(); // stem → image file
  const texts: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      const ext = path.extname(e.name).toLowerCase();
      if (e.isDirectory()) walk(p);
      else if (ext === '.txt') texts.push(p);
      else if (exts.has(ext)) {
        const stem = p.slice(0, -ext.length);
        if (images.has(stem)) throw new Error(`caption folder ${dir}: ${path.relative(root, images.get(stem)!)} and ${path.relative(root, p)} share the caption file ${path.relative(root, stem)}.txt`);
        images.set(stem, p);
      }
    }
  };
  walk(root);
  if (images.size === 0) throw new Error(`caption folder ${dir} contains no images (looked for ${[...exts].join(', ')})`);
  for (const t of texts) {
    if (!images.has(t.slice(0, -4))) throw new Error(`${t}: caption file without an image (expected ${path.basename(t, '.txt')}.png or another image type beside it)`);
  }
  const items: CaptionedItem[] = [];
  for (const [stem, img] of images) {
    const txt = `${stem}.txt`;
    if (!fs.existsSync(txt)) throw new Error(`${img}: image without a caption file (expected ${txt})`);
    const captions = fs.readFileSync(txt, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
    if (captions.length === 0) throw new Error(`${txt}: the caption file is empty`);
    items.push({ key: path.relative(root, img).split(path.sep).join('/'), path: img, captions });
  }
  return { name: dir, items };
}

/** Distinct captions of a dataset (training captions, then paraphrases when asked), in first-seen order. */
export function distinctCaptions(ds: CaptionedDataset, opts: { paraphrases?: boolean } = {}): string[] {
  const seen = new Set<string>();
  for (const it of ds.items) {
    for (const c of it.captions) seen.add(c);
    if (opts.paraphrases && it.paraphrase) seen.add(it.paraphrase);
  }
  return [...seen];
}
