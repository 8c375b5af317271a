/**
 * `metrics.json` of a demo run: the zod schema (what the report and the tests read) and its
 * construction. Every score is a finite number; optional parts are absent rather than null.
 */
import { z } from 'zod';
import type { GenerationMetrics, MetricsRecord } from '@raev2/core';

const num = z.number().refine(Number.isFinite, 'must be a finite number');
const count = z.number().int().nonnegative();

export const GenerationScoreSchema = z
  .object({
    /** Samples scored, Euler steps, guidance label, network evaluations per image. */
    count,
    steps: count,
    guidance: z.string(),
    nfePerImage: num,
    /** FD(generated, train) per feature space. */
    fd: z.record(z.string(), num),
    /** FD(held-out, train): the floor a perfect model would reach. */
    fdHeldOut: z.record(z.string(), num).optional(),
    /** FD_r^k: mean over spaces of FD(generated, train) / FD(held-out, train). */
    fdr: num.optional(),
    /** Class accuracy of generated samples under the linear probe trained on real latents. */
    probeAccuracy: num.optional(),
    /** The probe's accuracy on real held-out latents (the ceiling). */
    probeHeldOutAccuracy: num.optional(),
    seconds: num,
  })
  .strict();
export type GenerationScore = z.infer<typeof GenerationScoreSchema>;

export const ReconstructionScoreSchema = z.object({ images: count, psnr: num, ssim: num, rfd: num.optional() }).strict();

export const DemoMetricsSchema = z
  .object({
    format: z.literal('raev2-demo-metrics'),
    version: z.literal(1),
    created: z.string(),
    mode: z.enum(['quick', 'default', 'budget', 'pretrained']),
    /** Mode `pretrained`: how the shipped checkpoint was made (commands, date, wall seconds of its training stages). */
    pretrained: z.object({ commands: z.array(z.string()), created: z.string(), trainingSeconds: z.record(z.string(), num) }).strict().optional(),
    data: z.object({
      source: z.string(),
      classes: z.array(z.object({ name: z.string(), count })),
      dropped: z.array(z.object({ name: z.string(), count })),
      trainImages: count,
      heldOutImages: count,
      skinTones: z.boolean(),
    }),
    latent: z.object({ encoder: z.string(), layers: z.array(z.number().int()), grid: z.tuple([count, count]), channels: count, imageSize: count, encoderRes: count, statsImages: count }),
    decoder: z.object({
      steps: count,
      heldOut: ReconstructionScoreSchema,
      /** PSNR per K (last K blocks), when the sweep ran. */
      kSweep: z.array(z.object({ k: count, layers: z.array(z.number().int()) }).extend(ReconstructionScoreSchema.shape)).optional(),
    }),
    generation: z.object({
      ditSteps: count,
      parameters: count,
      shift: num,
      trained: GenerationScoreSchema,
      trainedUnguided: GenerationScoreSchema,
      untrained: GenerationScoreSchema,
      /** Evaluations during DiT training (step 0 = the untrained model). */
      overTraining: z.array(z.object({ step: count, fd: z.record(z.string(), num), fdr: num.optional(), probeAccuracy: num.optional() })),
    }),
    timings: z.object({
      /** Wall seconds per stage (summed over resumed runs). */
      stages: z.record(z.string(), num),
      totalSec: num,
      budgetSec: num,
      plannedSec: num,
    }),
    config: z.record(z.string(), z.unknown()),
    versions: z.record(z.string(), z.union([z.string(), z.number()])),
  })
  .strict();
export type DemoMetrics = z.infer<typeof DemoMetricsSchema>;

/** The fields of a generation evaluation that go into metrics.json. */
export function generationScore(m: GenerationMetrics): GenerationScore {
  const s: GenerationScore = { count: m.count, steps: m.steps, guidance: m.guidance, nfePerImage: m.nfePerImage, fd: m.fd, seconds: m.seconds };
  if (m.fdHeldOut) s.fdHeldOut = m.fdHeldOut;
  if (m.fdr != null) s.fdr = m.fdr;
  if (m.probeAccuracy != null) s.probeAccuracy = m.probeAccuracy;
  if (m.probeHeldOutAccuracy != null) s.probeHeldOutAccuracy = m.probeHeldOutAccuracy;
  return s;
}

/**
 * FD curve over DiT training: the untrained model at step 0, every evaluation logged during training
 * (latent space), and the final trained model at `finalStep` (all spaces; it replaces a logged record
 * of that step).
 */
export function fdCurve(untrained: GenerationMetrics, records: readonly MetricsRecord[], final: GenerationMetrics, finalStep: number): DemoMetrics['generation']['overTraining'] {
  const point = (step: number, m: GenerationMetrics) => ({ step, fd: m.fd, ...(m.fdr != null ? { fdr: m.fdr } : {}), ...(m.probeAccuracy != null ? { probeAccuracy: m.probeAccuracy } : {}) });
  const logged = [...records].filter((r) => r.step > 0 && r.step < finalStep).sort((a, b) => a.step - b.step);
  return [point(0, untrained), ...logged.map((r) => point(r.step, r)), point(finalStep, final)];
}

/** Rename feature-space keys (e.g. a long encoder spec → `mobilenetv2`). */
export function renameSpaces<T extends { fd: Record<string, number>; fdHeldOut?: Record<string, number> }>(m: T, names: Record<string, string>): T {
  const map = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [names[k] ?? k, v]));
  return { ...m, fd: map(m.fd), ...(m.fdHeldOut ? { fdHeldOut: map(m.fdHeldOut) } : {}) };
}
