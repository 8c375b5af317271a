/**
 * Validation at the boundary: parse unknown input (a JSON file, CLI flags, checkpoint state) with a
 * zod schema and turn failures into one message that names the source and every bad field.
 */
import * as fs from 'node:fs';
import { z } from 'zod';

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
