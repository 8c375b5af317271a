/**
 * A JSONL manifest: one `{"image": path, "label"?: string | int, "text"?: string}` per line; image
 * paths are relative to the manifest's folder. Every line is validated; errors name file and line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { arrayDataset, type DatasetItem, type ImageDataset } from './dataset.js';

export const ManifestLineSchema = z.object({
  image: z.string().min(1),
  label: z.union([z.string().min(1), z.number().int().nonnegative()]).optional(),
  text: z.string().optional(),
});
export type ManifestLine = z.infer<typeof ManifestLineSchema>;

export interface ManifestOptions {
  /** Check every image file exists (default true). */
  checkFiles?: boolean;
}

/** One parsed line of a JSONL file: its 1-based number, `file:line` for messages, and the JSON value. */
export interface JsonLine {
  line: number;
  where: string;
  json: unknown;
}

/**
 * The non-blank lines of a JSONL file, each parsed as JSON; an unreadable file or a line that is not
 * JSON fails naming the file (and line). `what` names the file's role in messages (e.g. `manifest`).
 */
export function readJsonLines(file: string, what: string): JsonLine[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const out: JsonLine[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const s = raw.trim();
    if (s === '') return;
    const where = `${file}:${i + 1}`;
    try {
      out.push({ line: i + 1, where, json: JSON.parse(s) });
    } catch (e) {
      throw new Error(`${where}: not valid JSON (${(e as Error).message})`);
    }
  });
  return out;
}

/**
 * Labels: string labels become classes in sorted order; integer labels are used as class indices
 * (classes "0"…"max"); mixing the two is an error.
 */
export function jsonlManifest(file: string, opts: ManifestOptions = {}): ImageDataset {
  const base = path.dirname(path.resolve(file));
  const lines: { line: number; entry: ManifestLine }[] = [];
  for (const { line, where, json } of readJsonLines(file, 'manifest')) {
    const r = ManifestLineSchema.safeParse(json);
    if (!r.success) {
      const issues = r.error.issues.map((x) => `${x.path.join('.') || '(line)'}: ${x.message}`).join('; ');
      throw new Error(`${where}: ${issues} (expected {"image": path, "label"?: string | integer ≥ 0, "text"?: string})`);
    }
    lines.push({ line, entry: r.data });
  }
  if (lines.length === 0) throw new Error(`manifest ${file} has no entries`);
  const kinds = new Set(lines.filter((l) => l.entry.label != null).map((l) => typeof l.entry.label));
  if (kinds.size > 1) {
    const first = lines.find((l) => typeof l.entry.label === 'number')!;
    throw new Error(`${file}:${first.line}: labels mix strings and integers; use one kind`);
  }
  let classes: string[] | undefined;
  let index: (l: string | number) => number = (l) => l as number;
  if (kinds.has('string')) {
    classes = [...new Set(lines.map((l) => l.entry.label).filter((l): l is string => typeof l === 'string'))].sort();
    const m = new Map(classes.map((c, i) => [c, i]));
    index = (l) => m.get(l as string)!;
  } else if (kinds.has('number')) {
    const max = Math.max(...lines.map((l) => (l.entry.label as number | undefined) ?? 0));
    classes = Array.from({ length: max + 1 }, (_, i) => String(i));
  }
  const items: DatasetItem[] = lines.map(({ line, entry }) => {
    const p = path.resolve(base, entry.image);
    if ((opts.checkFiles ?? true) && !fs.existsSync(p)) throw new Error(`${file}:${line}: image ${entry.image} not found (resolved to ${p})`);
    return { key: `${entry.image}#${line}`, path: p, label: entry.label == null ? undefined : index(entry.label), text: entry.text };
  });
  return arrayDataset(file, items, classes);
}
