/**
 * Budget planning of the demo: the architecture of each mode (fixed, so results are comparable
 * between machines) and the step counts that fit a wall-clock budget, from per-step costs measured
 * on this machine (`calibrate.ts`). A plan is written to `work/plan.json` on the first run and
 * reused by every re-run, so a resumed run trains exactly the steps it started with.
 */
import { z } from 'zod';
import { formatDuration } from '@raev2/core';

/** Sizes and hyper-parameters of one mode. */
export const DemoArchSchema = z
  .object({
    /** Encoder input side in px (`res=`); the latent grid is encoderRes / 16. */
    encoderRes: z.number().int().positive(),
    /** Input side of the metric feature network (a multiple of 32). */
    featureRes: z.number().int().positive(),
    /** Latent encoder (its selected blocks are the multi-layer latent). */
    encoder: z.string(),
    /** Feature network of rFD and of the image-space generation FD (token-mean of its last block). */
    features: z.string(),
    /** Keep at most this many images per class (null: all). */
    maxPerClass: z.number().int().positive().nullable(),
    heldOut: z.number().positive().lt(1),
    decoder: z.object({
      preset: z.enum(['tiny', 'S', 'B', 'L', 'XL']),
      overrides: z.record(z.string(), z.number()),
      batch: z.number().int().positive(),
      lr: z.number().positive(),
      /** Weight of the MobileNetV2 perceptual term (0: L1 only). */
      perceptual: z.number().min(0),
    }),
    dit: z.object({
      hiddenSize: z.tuple([z.number().int(), z.number().int()]),
      depth: z.tuple([z.number().int(), z.number().int()]),
      numHeads: z.tuple([z.number().int(), z.number().int()]),
      baseDepth: z.number().int().positive(),
      numTimeTokens: z.number().int().positive(),
      numCondTokens: z.number().int().positive(),
      batch: z.number().int().positive(),
      lr: z.number().positive(),
      warmupSteps: z.number().int().nonnegative(),
      ema: z.number(),
      /** Time shift s of training and sampling (`auto` = sqrt(N·C / 4096)). */
      shift: z.union([z.number().positive(), z.literal('auto')]),
    }),
    /** Generation metrics: samples per evaluation (capped by the held-out count), Euler steps, evaluations during DiT training. */
    metrics: z.object({ count: z.number().int().positive(), steps: z.number().int().positive(), evals: z.number().int().positive() }),
    /** Minimum step counts whatever the budget. */
    minSteps: z.object({ decoder: z.number().int().positive(), dit: z.number().int().positive() }),
    /** Share of the trainable time given to the decoder (the rest goes to the DiT). */
    decoderShare: z.number().gt(0).lt(1),
  })
  .strict();
export type DemoArch = z.infer<typeof DemoArchSchema>;

/**
 * The default mode. MobileNetV2's last 3 blocks of its stride-16, 96-channel stage at a 96-px input
 * → a 6×6×96 latent, decoded at 8 px per token → 48-px emoji (a 4×4 latent decoded at 16 px per
 * token stayed blocky within this budget; an 8×8 one made each DiT step 1.7× dearer). The decoder
 * loss is L1 only (noise augmentation on): the MobileNetV2 perceptual term (`--perceptual <w>`) makes
 * a decoder step 3.5× dearer, and at equal wall time on 2 cores it gave lower PSNR and checkerboard
 * artefacts (at 400 steps: w_p = 0.1 PSNR 14.1 dB with artefacts; L1 only 14.9 dB). Time shift
 * s = 8 (RAEv2's published value for DINOv3-L) instead of sqrt(N·C / 4096) = 0.9: the v-space loss
 * weighs small t by up to 1/t², so a small shift spends a short run on easy low-noise steps, while
 * the class structure is decided at high noise. Measured on the quick data (4×4 latent, 400 steps):
 * probe accuracy of generated samples 47 % at s = 8, 38 % at s = 4, 18 % at s = 2, 14 % at s = 0.6;
 * FD(latent) 4.4, 4.4, 5.5, 15.9 (held-out floor 3.9).
 */
export const DEFAULT_ARCH: DemoArch = {
  encoderRes: 96,
  featureRes: 64,
  encoder: 'mobilenetv2-nsfwjs[layers=last3]',
  features: 'mobilenetv2-nsfwjs[stage=13-15]',
  maxPerClass: null,
  heldOut: 0.1,
  decoder: { preset: 'tiny', overrides: { patch_size: 8 }, batch: 16, lr: 1e-3, perceptual: 0 },
  dit: { hiddenSize: [96, 128], depth: [6, 1], numHeads: [4, 4], baseDepth: 3, numTimeTokens: 2, numCondTokens: 2, batch: 32, lr: 1e-3, warmupSteps: 50, ema: 0.999, shift: 8 },
  metrics: { count: 256, steps: 12, evals: 3 },
  minSteps: { decoder: 100, dit: 200 },
  decoderShare: 0.35,
};

/** `--quick`: 60 images per class at 64-px encoder input (a 4×4×96 latent, 32-px emoji), a shallower DiT, fewer and cheaper evaluations. */
export const QUICK_ARCH: DemoArch = {
  ...DEFAULT_ARCH,
  encoderRes: 64,
  maxPerClass: 60,
  heldOut: 0.15,
  dit: { ...DEFAULT_ARCH.dit, depth: [4, 1], baseDepth: 2, warmupSteps: 20 },
  metrics: { count: 128, steps: 8, evals: 2 },
  minSteps: { decoder: 100, dit: 200 },
};

/** Seconds per unit of work, measured on this machine. */
export const StepCostsSchema = z.object({
  /** Latent encoder forward, per image. */
  encodePerImage: z.number().nonnegative(),
  /** Metric feature network forward, per image. */
  featuresPerImage: z.number().nonnegative(),
  /** One decoder training step (a batch; L1 + perceptual). */
  decoderStep: z.number().positive(),
  /** One decoder training step with the GAN term and the discriminator update (when the GAN is on). */
  decoderGanStep: z.number().positive().optional(),
  /** Decoder forward, per image. */
  decodePerImage: z.number().nonnegative(),
  /** One DiT training step (a batch). */
  ditStep: z.number().positive(),
  /** One DiT forward, per sample (one NFE of sampling). */
  ditForwardPerSample: z.number().nonnegative(),
});
export type StepCosts = z.infer<typeof StepCostsSchema>;

/** What a plan is made for (besides the costs). */
export interface PlanInput {
  arch: DemoArch;
  budgetSec: number;
  costs: StepCosts;
  /** Training and held-out image counts. */
  trainImages: number;
  heldOutImages: number;
  numClasses: number;
  samplesPerClass: number;
  sampleSteps: number;
  gan: boolean;
  kSweep: boolean;
  /** Decoder and DiT train at the same time (one core each). */
  parallel: boolean;
  /** Fixed step counts (flags) that override the plan. */
  decoderSteps?: number;
  ditSteps?: number;
}

export const PlanSchema = z
  .object({
    budgetSec: z.number().positive(),
    parallel: z.boolean(),
    decoderSteps: z.number().int().positive(),
    ditSteps: z.number().int().positive(),
    /** DiT steps between generation-metric evaluations. */
    metricEvery: z.number().int().positive(),
    metricCount: z.number().int().positive(),
    /** Estimated seconds per stage (in run order) and in total. */
    estimates: z.record(z.string(), z.number().nonnegative()),
    /** Estimated seconds of the decoder run and of the DiT run (parts of `train`). */
    decoderSec: z.number().nonnegative(),
    ditSec: z.number().nonnegative(),
    totalSec: z.number().nonnegative(),
    /** True when the step counts fell below the minimum (raised to it: the run takes longer than the budget). */
    overBudget: z.boolean(),
  })
  .strict();
export type Plan = z.infer<typeof PlanSchema>;

/**
 * EMA decay for a run of `steps`: an averaging horizon of a fifth of the run (e^-5 of the initial
 * weights left at the end), within [0.9, 0.9978] (0.9978 is the published stage-1 value).
 */
export function emaForSteps(steps: number): number {
  return Math.min(0.9978, Math.max(0.9, 1 - 5 / steps));
}

/** Assumed slowdown of each of two processes training side by side (shared caches and memory bandwidth). */
export const PARALLEL_SLOWDOWN = 1.1;

/** Start-up work not measured by the costs (loading networks, decoding PNGs), in seconds. */
export const SETUP_SEC = 15;

/**
 * Plan step counts so the whole run fits `budgetSec` (pure: same inputs, same plan). The work that
 * does not depend on the step counts is estimated first; the rest is the training window. In
 * parallel the decoder and the DiT each have the whole window (one core each); in sequence they
 * share it (`decoderShare`). A K sweep trains two more decoders (K = 1, 2) after the main one, with
 * the same step count (so the PSNR-per-K comparison is fair).
 */
export function planDemo(p: PlanInput): Plan {
  const { arch, costs: c } = p;
  const all = p.trainImages + p.heldOutImages;
  const metricCount = Math.max(2, Math.min(arch.metrics.count, Math.max(p.heldOutImages, 2 * p.numClasses)));
  // during training the metrics are in the latent space; the final ones also decode and featurise
  const latentEvalSec = metricCount * arch.metrics.steps * c.ditForwardPerSample;
  const fullEvalSec = latentEvalSec + metricCount * (c.decodePerImage + c.featuresPerImage);
  const sweepDecoders = p.kSweep ? 2 : 0;
  const decStep = p.gan && c.decoderGanStep ? (c.decoderStep + c.decoderGanStep) / 2 : c.decoderStep; // GAN in the second half
  const fixed = {
    setup: SETUP_SEC,
    stats: p.trainImages * c.encodePerImage,
    decoderEval: p.heldOutImages * (c.encodePerImage + c.decodePerImage + 2 * c.featuresPerImage) * (1 + sweepDecoders),
    // untrained, trained (free guidance) and trained (unguided), plus the real images' features
    evaluation: 3 * fullEvalSec + all * c.featuresPerImage,
    samples: p.numClasses * p.samplesPerClass * (p.sampleSteps * c.ditForwardPerSample + c.decodePerImage) + 2,
  };
  const decoderFixed = p.trainImages * c.encodePerImage; // the decoder run's latent cache
  const ditFixed = all * c.encodePerImage + arch.metrics.evals * latentEvalSec; // latent caches, evaluations
  const sweepFixed = sweepDecoders * p.trainImages * c.encodePerImage;
  // 5 % for what the costs miss (checkpoints, logging, garbage collection)
  const window = p.budgetSec * 0.95 - Object.values(fixed).reduce((a, b) => a + b, 0) - sweepFixed;
  const decoders = 1 + sweepDecoders;
  let decoderSteps: number, ditSteps: number;
  if (p.parallel) {
    // the K sweep's decoders train after the main one in the same process, beside the DiT; two busy
    // cores share caches and memory bandwidth, so each step is assumed PARALLEL_SLOWDOWN× slower
    decoderSteps = Math.floor((window - decoderFixed) / (decoders * decStep * PARALLEL_SLOWDOWN));
    ditSteps = Math.floor((window - ditFixed) / (c.ditStep * PARALLEL_SLOWDOWN));
  } else {
    const rest = window - decoderFixed - ditFixed;
    decoderSteps = Math.floor((rest * arch.decoderShare) / (decoders * decStep));
    ditSteps = Math.floor((rest * (1 - arch.decoderShare)) / c.ditStep);
  }
  decoderSteps = p.decoderSteps ?? decoderSteps;
  ditSteps = p.ditSteps ?? ditSteps;
  const overBudget = decoderSteps < arch.minSteps.decoder || ditSteps < arch.minSteps.dit;
  decoderSteps = Math.max(arch.minSteps.decoder, decoderSteps);
  ditSteps = Math.max(arch.minSteps.dit, ditSteps);
  const slow = p.parallel ? PARALLEL_SLOWDOWN : 1;
  const decoderSec = decoderFixed + decoderSteps * decStep * slow;
  const ditSec = ditFixed + ditSteps * c.ditStep * slow;
  const sweepSec = sweepFixed + sweepDecoders * decoderSteps * decStep * slow;
  const estimates: Record<string, number> = {
    setup: fixed.setup,
    stats: fixed.stats,
    train: p.parallel ? Math.max(decoderSec + sweepSec, ditSec) : decoderSec + sweepSec + ditSec,
    decoderEval: fixed.decoderEval,
    evaluation: fixed.evaluation,
    samples: fixed.samples,
  };
  const totalSec = Object.values(estimates).reduce((a, b) => a + b, 0);
  return { budgetSec: p.budgetSec, parallel: p.parallel, decoderSteps, ditSteps, metricEvery: Math.max(1, Math.ceil(ditSteps / arch.metrics.evals)), metricCount, estimates, decoderSec, ditSec, totalSec, overBudget };
}

/** A plan as a few lines for the console. */
export function formatPlan(plan: Plan, arch: DemoArch): string {
  const rows = Object.entries(plan.estimates).map(([k, v]) => `  ${k.padEnd(12)} ≈ ${formatDuration(v)}`);
  return [
    `plan for a ${formatDuration(plan.budgetSec)} budget: decoder ${plan.decoderSteps} steps × ${arch.decoder.batch} (≈ ${formatDuration(plan.decoderSec)}) ${plan.parallel ? 'in parallel with' : 'then'} DiT ${plan.ditSteps} steps × ${arch.dit.batch} (≈ ${formatDuration(plan.ditSec)}); generation metrics every ${plan.metricEvery} steps on ${plan.metricCount} samples`,
    ...rows,
    `  total        ≈ ${formatDuration(plan.totalSec)}${plan.overBudget ? '  (over budget on this machine: minimum step counts used)' : ''}`,
  ].join('\n');
}
