/**
 * The emoji images that ship in the `emoji-datasource-{google,twitter,apple,facebook}` npm packages
 * (64-px PNGs with names and categories): class-conditional by category or subcategory, and
 * text-to-image by name. Skin-tone variants are included by default (≈3.8k images per style).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { parseWith } from '../util/config.js';
import { arrayDataset, type DatasetItem, type ImageDataset } from './dataset.js';

export const EMOJI_STYLES = ['google', 'twitter', 'apple', 'facebook'] as const;
export type EmojiStyle = (typeof EMOJI_STYLES)[number];

const Variation = z.object({ unified: z.string(), image: z.string() }).loose();
const Entry = z
  .object({
    name: z.string().nullable().optional(),
    short_name: z.string(),
    unified: z.string(),
    image: z.string(),
    category: z.string(),
    subcategory: z.string().optional().default(''),
    sort_order: z.number().optional(),
    skin_variations: z.record(z.string(), Variation).optional(),
  })
  .loose();
const EmojiJson = z.array(Entry);

const TONES: Record<string, string> = { '1F3FB': 'light', '1F3FC': 'medium-light', '1F3FD': 'medium', '1F3FE': 'medium-dark', '1F3FF': 'dark' };

export interface EmojiOptions {
  style?: EmojiStyle;
  /** Class labels from `category` (10 classes) or `subcategory` (≈100). */
  labelBy?: 'category' | 'subcategory';
  /** Include skin-tone variants (default true). */
  skinTones?: boolean;
  /** Keep only these categories. */
  categories?: string[];
  /** Package folder (default: resolved from node_modules). */
  packageDir?: string;
}

/** Folder of `emoji-datasource-<style>`, or an error saying how to install it. */
export function emojiPackageDir(style: EmojiStyle): string {
  const pkg = `emoji-datasource-${style}`;
  try {
    return path.dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
  } catch {
    throw new Error(`the emoji dataset needs the npm package ${pkg} (npm install ${pkg})`);
  }
}

export function emojiDataset(opts: EmojiOptions = {}): ImageDataset {
  const style = opts.style ?? 'google';
  if (!EMOJI_STYLES.includes(style)) throw new Error(`unknown emoji style "${style}" (known: ${EMOJI_STYLES.join(', ')})`);
  const dir = opts.packageDir ?? emojiPackageDir(style);
  const jsonFile = path.join(dir, 'emoji.json');
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${jsonFile}: ${(e as Error).message}`);
  }
  const entries = parseWith(EmojiJson, raw, jsonFile);
  const imgDir = path.join(dir, 'img', style, '64');
  const present = new Set(fs.existsSync(imgDir) ? fs.readdirSync(imgDir) : []);
  if (present.size === 0) throw new Error(`no ${style} emoji images in ${imgDir}`);
  const labelBy = opts.labelBy ?? 'category';
  const keep = opts.categories ? new Set(opts.categories) : null;
  const sorted = [...entries].sort((a, b) => (a.sort_order ?? 0) - (b.sort_order ?? 0));
  const items: (Omit<DatasetItem, 'label'> & { cls: string })[] = [];
  for (const e of sorted) {
    if (keep && !keep.has(e.category)) continue;
    const cls = labelBy === 'category' ? e.category : e.subcategory;
    const text = (e.name ?? e.short_name.replace(/_/g, ' ')).toLowerCase();
    // entries whose image is missing for this style are skipped
    if (present.has(e.image)) items.push({ key: e.unified, path: path.join(imgDir, e.image), text, cls });
    if (opts.skinTones === false || !e.skin_variations) continue;
    for (const [tones, v] of Object.entries(e.skin_variations)) {
      if (!present.has(v.image)) continue;
      const words = tones.split('-').map((t) => `${TONES[t] ?? t} skin tone`);
      items.push({ key: v.unified, path: path.join(imgDir, v.image), text: `${text}: ${[...new Set(words)].join(', ')}`, cls });
    }
  }
  if (items.length === 0) throw new Error(`no emoji images selected from ${jsonFile}${keep ? ` (categories: ${opts.categories!.join(', ')})` : ''}`);
  const classes = [...new Set(items.map((i) => i.cls))].sort();
  const index = new Map(classes.map((c, i) => [c, i]));
  return arrayDataset(`emoji-${style}`, items.map(({ cls, ...it }) => ({ ...it, label: index.get(cls)! })), classes);
}
