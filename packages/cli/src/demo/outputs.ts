/**
 * The demo's image outputs — `reconstructions.png` (held-out originals above their reconstructions,
 * a few per category) and `samples_grid.png` (generated samples, one labelled row per category, by
 * `raev2 sample`) — and the reading of the runs' `log.jsonl` files for the report's loss curves.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf, ImageStore, copyFileAtomic, openDataSource, stage1Split, subset, writeImageRows, type ImageDataset } from '@raev2/core';
import { loadStage1Run } from '../runs/stage1.js';
import { runSample, SampleFlagsSchema } from '../commands/sample.js';

/** Up to `perClass` items of each class, class by class (dataset order within a class). */
export function perClassIndices(ds: ImageDataset, perClass: number): number[] {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < ds.size; i++) {
    const l = ds.get(i).label ?? 0;
    const list = byClass.get(l) ?? [];
    if (list.length < perClass) list.push(i);
    byClass.set(l, list);
  }
  return [...byClass.keys()].sort((a, b) => a - b).flatMap((l) => byClass.get(l)!);
}

/** Held-out originals (top row) above their noise-free reconstructions by a finished stage-1 run. */
export async function writeReconstructions(stage1Dir: string, file: string, perClass = 2): Promise<void> {
  const run = await loadStage1Run(stage1Dir);
  try {
    const cfg = run.summary.config;
    const held = stage1Split(openDataSource(cfg.data), cfg.heldOut, cfg.splitSeed).heldOut;
    if (held == null || held.size === 0) throw new Error(`${stage1Dir}: the run has no held-out images to reconstruct`);
    const pick = subset(held, perClassIndices(held, perClass), 'reconstruction examples');
    const store = await ImageStore.load(pick, run.rae.imageSize);
    const x = store.batch(Array.from({ length: store.count }, (_, i) => i));
    const r = run.rae.reconstruct(x);
    try {
      await writeImageRows(file, [x, r]);
    } finally {
      tf.dispose([x, r]);
    }
  } finally {
    run.dispose();
  }
}

export interface SampleGridOptions {
  guidanceScale: number;
  steps: number;
  perClass: number;
  seed: number;
}

/** Generate a labelled per-category grid with free guidance from a stage-2 run (decoder and statistics from `run`); returns NFE per image. */
export async function writeSampleGrid(run: { ckpt: string; stage1: string; stats: string }, workDir: string, file: string, o: SampleGridOptions, log: (s: string) => void): Promise<number> {
  const flags = SampleFlagsSchema.parse({ ...run, out: workDir, guidance: 'free', scale: o.guidanceScale, interval: '0.1,1', steps: o.steps, sampler: 'euler', seed: o.seed, 'per-class': o.perClass, batch: 64 });
  const r = await runSample(flags, log);
  if (r.grid == null) throw new Error(`sampling ${run.ckpt} wrote no grid`);
  copyFileAtomic(r.grid, file);
  return r.nfePerImage;
}

/** The records of a run's `log.jsonl` (torn or foreign lines skipped). */
export function readLogRecords(file: string): Record<string, unknown>[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').flatMap((l) => {
    if (l.trim() === '') return [];
    try {
      const r = JSON.parse(l) as unknown;
      return r != null && typeof r === 'object' && !Array.isArray(r) ? [r as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}
