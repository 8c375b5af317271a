/**
 * What a demo run remembers between invocations, in `work/`: `plan.json` (the mode, architecture,
 * measured costs and step counts — fixed on the first run so a resumed run trains the same steps)
 * and `state.json` (wall time per stage, which stages are complete, and the results of the
 * evaluation stages so a re-run can skip them). Both are validated when read; files are written
 * atomically.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeFileAtomic } from '@raev2/core';
import { DemoArchSchema, PlanSchema, StepCostsSchema } from './plan.js';
import { GenerationScoreSchema, ReconstructionScoreSchema } from './metrics.js';

export const DEMO_FILES = {
  plan: 'plan.json',
  state: 'state.json',
  samples: 'samples_grid.png',
  reconstructions: 'reconstructions.png',
  metrics: 'metrics.json',
  report: 'report.html',
  screenshot: 'report.png',
} as const;

export const PlanFileSchema = z
  .object({
    format: z.literal('raev2-demo-plan'),
    mode: z.enum(['quick', 'default', 'budget', 'pretrained']),
    /** The flags that shape the run (a re-run with other values must pass --fresh). */
    key: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
    arch: DemoArchSchema,
    costs: StepCostsSchema,
    plan: PlanSchema,
  })
  .strict();
export type PlanFile = z.infer<typeof PlanFileSchema>;

const SweepScore = z.object({ k: z.number().int(), layers: z.array(z.number().int()) }).extend(ReconstructionScoreSchema.shape);

export const StateSchema = z
  .object({
    format: z.literal('raev2-demo-state'),
    /** Wall seconds (summed over runs), completion, and what a finished stage was made for (flags it depends on). */
    stages: z.record(z.string(), z.object({ seconds: z.number().nonnegative(), done: z.boolean(), sig: z.string().optional() }).strict()),
    results: z
      .object({
        decoder: ReconstructionScoreSchema.optional(),
        kSweep: z.array(SweepScore).optional(),
        generation: z.object({ trained: GenerationScoreSchema, trainedUnguided: GenerationScoreSchema, untrained: GenerationScoreSchema }).optional(),
      })
      .default({}),
  })
  .strict();
export type DemoState = z.infer<typeof StateSchema>;

export function readPlanFile(work: string): PlanFile | null {
  const f = path.join(work, DEMO_FILES.plan);
  return fs.existsSync(f) ? readJsonFile(PlanFileSchema, f) : null;
}

export function writePlanFile(work: string, p: PlanFile): void {
  writeFileAtomic(path.join(work, DEMO_FILES.plan), JSON.stringify(p, null, 2) + '\n');
}

export function readState(work: string): DemoState {
  const f = path.join(work, DEMO_FILES.state);
  return fs.existsSync(f) ? readJsonFile(StateSchema, f) : { format: 'raev2-demo-state', stages: {}, results: {} };
}

export function writeState(work: string, s: DemoState): void {
  writeFileAtomic(path.join(work, DEMO_FILES.state), JSON.stringify(s, null, 2) + '\n');
}

/** Delete a previous demo run in `out`: its work folder and the final files (nothing else in `out`). */
export function removeDemoRun(out: string): void {
  fs.rmSync(path.join(out, 'work'), { recursive: true, force: true });
  for (const f of [DEMO_FILES.samples, DEMO_FILES.reconstructions, DEMO_FILES.metrics, DEMO_FILES.report, DEMO_FILES.screenshot]) fs.rmSync(path.join(out, f), { force: true });
}
