/**
 * Validation at the boundary: parse unknown input (a JSON file, CLI flags, checkpoint state) with a
 * zod schema and turn failures into one message that names the source and every bad field.
 */
import * as fs from 'node:fs';
import { z } from 'zod';
import { UsageError } from '../command.js';

/** Format zod issues as `source: field.path: message` lines. */
export function formatIssues(error: z.ZodError, source: string): string {
  const lines = error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  return `invalid ${source}:\n${lines.join('\n')}`;
}

/** Parse `value` with `schema`; throws an Error naming `source` and each bad field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, source: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(formatIssues(r.error, source));
  return r.data;
}

/** Read and validate a JSON file. */
export function readJsonFile<S extends z.ZodType>(schema: S, file: string): z.infer<S> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  return parseWith(schema, json, file);
}

/**
 * Largest image side (px) a command accepts: a 4096² RGB float32 batch of one is 200 MB and every
 * encoder here is trained at ≤ 518 px, so a bigger value is a typo, not a run (it would otherwise
 * fail deep inside a typed-array allocation).
 */
export const MAX_IMAGE_SIZE = 4096;

/** Throw a UsageError naming `flag` when `px` is not an integer side in [1, MAX_IMAGE_SIZE]. */
export function checkImageSize(px: number | undefined, flag = '--image-size'): void {
  if (px == null) return;
  if (!Number.isInteger(px) || px < 1 || px > MAX_IMAGE_SIZE) throw new UsageError(`${flag} ${px}: must be an integer number of pixels in [1, ${MAX_IMAGE_SIZE}]`);
}
