/**
 * `metrics.jsonl` of a stage-2 run: one generation-metrics record per evaluation, keyed by step, so
 * "training steps to reach FD ≤ k" (the EP_FID@k analogue) can be read off. A resumed run drops the
 * records written after the checkpoint it resumes from.
 */
import * as fs from 'node:fs';
import { z } from 'zod';
import type { GenerationMetrics } from './evaluate.js';
import { appendFileChecked, writeFileAtomic } from '../io/atomic.js';

export const METRICS_FILE = 'metrics.jsonl';

export interface MetricsRecord extends GenerationMetrics {
  step: number;
  time: string;
}

const num = z.number();
const MetricsRecordSchema = z
  .object({
    step: z.number().int().nonnegative(),
    time: z.string(),
    count: z.number().int(),
    steps: z.number().int(),
    guidance: z.string(),
    nfePerImage: num,
    nfePerStep: num.optional(),
    fd: z.record(z.string(), num),
    fdHeldOut: z.record(z.string(), num).optional(),
    fdRatio: z.record(z.string(), num).optional(),
    fdr: num.optional(),
    probeAccuracy: num.optional(),
    probeTrainAccuracy: num.optional(),
    probeHeldOutAccuracy: num.optional(),
    seconds: num,
  })
  .loose();

/** Append one record. */
export function appendMetrics(file: string, r: MetricsRecord): void {
  appendFileChecked(file, JSON.stringify(r) + '\n');
}

/** Read and validate every record (errors name the file and line). */
export function readMetrics(file: string): MetricsRecord[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    const r = MetricsRecordSchema.safeParse(json);
    if (!r.success) throw new Error(`${file}:${i + 1}: ${r.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
    return [r.data as MetricsRecord];
  });
}

/** Keep only records with step ≤ `step` (and drop a torn last line). */
export function truncateMetrics(file: string, step: number): void {
  if (!fs.existsSync(file)) return;
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const kept = lines.filter((l) => {
    try {
      const s = (JSON.parse(l) as { step?: unknown }).step;
      return typeof s === 'number' && s <= step;
    } catch {
      return false;
    }
  });
  if (kept.length !== lines.length) writeFileAtomic(file, kept.map((l) => l + '\n').join(''));
}

/** The value a record holds at a dotted key such as `fd.latent`, `fdr` or `probeAccuracy`. */
export function metricValue(r: MetricsRecord, key: string): number | undefined {
  let v: unknown = r;
  for (const k of key.split('.')) v = v != null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === 'number' ? v : undefined;
}

/** First step whose `key` is ≤ `k` (null when never reached): e.g. stepsToReach(records, 'fd.latent', 5). */
export function stepsToReach(records: readonly MetricsRecord[], key: string, k: number): number | null {
  for (const r of [...records].sort((a, b) => a.step - b.step)) {
    const v = metricValue(r, key);
    if (v != null && v <= k) return r.step;
  }
  return null;
}
