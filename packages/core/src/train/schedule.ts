/**
 * Learning-rate schedules as pure functions of the step, from a zod-validated config.
 * Warm-up (all kinds): lr·(step + 1)/warmupSteps for step < warmupSteps, so the first step is not wasted at lr 0
 * and step warmupSteps − 1 reaches the peak. Then, with p = (step − warmupSteps)/(totalSteps − warmupSteps) clamped to [0, 1]:
 *   constant: lr;   linear: lr + (finalLr − lr)·p;   cosine: finalLr + (lr − finalLr)·(1 + cos πp)/2.
 * Epoch-based configs (e.g. "1 warm-up epoch") convert to steps before building the schedule.
 */
import { z } from 'zod';
import { parseWith } from '../util/config.js';

const steps = z.number().int().nonnegative();
const base = { lr: z.number().positive(), warmupSteps: steps.default(0) };
const decaying = { ...base, totalSteps: z.number().int().positive(), finalLr: z.number().nonnegative().default(0) };

export const ScheduleSchema = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('constant'), ...base }).strict(),
    z.object({ kind: z.literal('linear'), ...decaying }).strict(),
    z.object({ kind: z.literal('cosine'), ...decaying }).strict(),
  ])
  .refine((s) => s.kind === 'constant' || s.warmupSteps <= s.totalSteps, { message: 'warmupSteps must not exceed totalSteps', path: ['warmupSteps'] });

export type Schedule = z.infer<typeof ScheduleSchema>;
export type ScheduleInput = z.input<typeof ScheduleSchema>;

/** Validate a schedule config (errors name `source` and the field). */
export function parseSchedule(value: unknown, source = 'lr schedule'): Schedule {
  return parseWith(ScheduleSchema, value, source);
}

/** Learning rate for the 0-based `step` about to be taken. */
export function lrAt(s: Schedule, step: number): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  if (s.kind === 'constant') return s.lr;
  const span = s.totalSteps - s.warmupSteps;
  const p = span <= 0 ? 1 : Math.min(1, Math.max(0, (step - s.warmupSteps) / span));
  if (s.kind === 'linear') return s.lr + (s.finalLr - s.lr) * p;
  return s.finalLr + ((s.lr - s.finalLr) * (1 + Math.cos(Math.PI * p))) / 2;
}
