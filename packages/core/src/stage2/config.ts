/**
 * The stage-2 (latent diffusion) training config (docs/method.md §2): one zod schema with CPU-sized defaults
 * in which every published setting is expressible. A JSON file (`--config`) is merged with CLI
 * flags and validated here, so errors name the field and the file. Checks that need the latent's
 * shape (width ≥ channels, the shift) run in `resolveDiTConfig` once the encoder is probed —
 * still before any latent is computed or any file is written.
 */
import { z } from 'zod';
import { parseWith } from '../util/config.js';
import { GuidanceConfigSchema, guidanceParts } from '../sampling/guidance.js';
import { DIT_SIZES, fitWidth, type DiTSizeName } from '../dit/presets.js';
import { parseDiTConfig, type DiTConfig } from '../dit/config.js';
import type { ConditionConfig } from '../dit/condition_kinds.js';
import { dimensionShift } from '../transport/time.js';
import { parseTransportConfig, type TransportConfig } from '../transport/transport.js';

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const pair = z.tuple([posInt, posInt]);
const betas = z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]);
const SIZE_NAMES = Object.keys(DIT_SIZES) as [DiTSizeName, ...DiTSizeName[]];

export const Stage2ModelSchema = z
  .object({
    /** Named size (tiny, small: CPU; S, B, L, XL: published); explicit fields below override it. */
    preset: z.enum(SIZE_NAMES).default('tiny'),
    /** `in-context` (RAEv2: time/class tokens in the sequence) or `adaln` (RAE v1: adaLN-Zero + sin-cos position embedding). */
    conditioning: z.enum(['in-context', 'adaln']).default('in-context'),
    /** What the network outputs: `x` (RAEv2 default) or `v` velocity (RAE v1 default). */
    prediction: z.enum(['x', 'v']).optional(),
    /** [body width D, head width D_h]. */
    hiddenSize: pair.optional(),
    /** [body blocks, head blocks]. */
    depth: z.tuple([posInt, nonNegInt]).optional(),
    numHeads: pair.optional(),
    mlpRatio: z.number().positive().optional(),
    /** Base head after body block d (free guidance); `none` / null: no base head. Default: the preset's d (in-context only). */
    baseDepth: z.union([posInt, z.literal('none'), z.null()]).optional(),
    /** Classic REPA on the body tokens after block `depth`, aligned with the clean latent tokens; null: off. */
    repa: z.object({ depth: posInt, weight: z.number().min(0).default(0.5), hidden: posInt.default(2048) }).strict().nullable().default(null),
    numTimeTokens: posInt.optional(),
    numCondTokens: posInt.optional(),
  })
  .strict();

export const Stage2TransportSchema = z
  .object({
    timeDist: z.enum(['logit-normal', 'uniform']).default('logit-normal'),
    mu: z.number().default(0),
    sigma: z.number().positive().default(1),
    /** Dimension-dependent shift s; `auto` = sqrt(N·C / 4096). */
    shift: z.union([z.number().positive(), z.literal('auto')]).default('auto'),
    tEps: z.number().positive().default(0.05),
    /** Weight of the base-head loss term. */
    baseWeight: z.number().min(0).default(1),
  })
  .strict();

export const Stage2OptimizerSchema = z
  .object({
    /** `adamw`, or `muon`: Muon for 2-D weights in the blocks, AdamW for embeddings, final layers and vectors. */
    name: z.enum(['adamw', 'muon']).default('adamw'),
    lr: z.number().positive().default(2e-4),
    betas: betas.default([0.9, 0.95]),
    weightDecay: z.number().min(0).default(0),
    eps: z.number().positive().default(1e-8),
    /** Muon momentum (Nesterov). */
    momentum: z.number().min(0).lt(1).default(0.95),
  })
  .strict();

export const Stage2ScheduleSchema = z
  .object({
    kind: z.enum(['constant', 'linear', 'cosine']).default('constant'),
    warmupSteps: nonNegInt.default(0),
    finalLr: z.number().min(0).default(0),
  })
  .strict();

const Guidance = GuidanceConfigSchema.refine((g) => !guidanceParts(g.method).auto, { message: 'autoguidance needs a second model: use it with `raev2 sample --weak <checkpoint>`', path: ['method'] });

export const Stage2SamplesSchema = z
  .object({
    /** Write a per-class sample grid every this many steps (0: only at the end). */
    every: nonNegInt.default(500),
    perClass: posInt.default(4),
    /** At most this many classes in a grid (the first ones). */
    maxClasses: posInt.default(16),
    steps: posInt.default(50),
    sampler: z.enum(['euler', 'heun']).default('euler'),
    guidance: Guidance.default(() => GuidanceConfigSchema.parse({ method: 'none' })),
    seed: nonNegInt.default(0),
  })
  .strict();

export const Stage2MetricsSchema = z
  .object({
    /** Compute generation metrics every this many steps (0: only at the end; null: never). */
    every: nonNegInt.nullable().default(500),
    /** Generated samples per evaluation (default: as many as the held-out set, capped at 512). */
    count: posInt.optional(),
    steps: posInt.default(25),
    sampler: z.enum(['euler', 'heun']).default('euler'),
    guidance: Guidance.default(() => GuidanceConfigSchema.parse({ method: 'none' })),
    /** Feature spaces: `latent` (the RAE latent, token-mean) and names of image feature encoders given by the caller (e.g. `mobilenetv2`). */
    spaces: z.array(z.string().min(1)).min(1).default(['latent']),
    /** FD reference: at most this many training images (a seeded subset), so image features of a large set stay affordable. */
    maxReference: posInt.default(2000),
    /** Train a linear probe on real latents and report the class accuracy of generated ones. */
    probe: z.boolean().default(true),
    /** Latent pooling of the probe's features: token mean (C dims, fast) or flattened (N·C dims: more accurate, much slower on CPU). */
    probePool: z.enum(['mean', 'flat']).default('mean'),
    seed: nonNegInt.default(1),
  })
  .strict();

/**
 * The fields of a condition-generic diffusion run (`trainDiffusion`): model, objective, optimiser,
 * EMA, batch and checkpointing. Task configs (class labels here; text, navigation in their
 * packages) spread these into their own schema.
 */
export const DiffusionTrainFields = {
  model: Stage2ModelSchema.default(() => Stage2ModelSchema.parse({})),
  transport: Stage2TransportSchema.default(() => Stage2TransportSchema.parse({})),
  /** Probability of replacing a sample's condition by the provider's null condition (CFG dropout; published 0.1). Default 0.1. */
  conditionDropout: z.number().min(0).max(1).optional(),
  /** Old name of `conditionDropout` (still accepted). */
  labelDropout: z.number().min(0).max(1).optional(),
  optimizer: Stage2OptimizerSchema.default(() => Stage2OptimizerSchema.parse({})),
  schedule: Stage2ScheduleSchema.default(() => Stage2ScheduleSchema.parse({})),
  gradClip: z.number().positive().nullable().default(1.0),
  ema: z.number().min(0).max(1).default(0.9995),
  /** EMA warm-up: decay_t = min(ema, (1 + t)/(10 + t)), so short runs do not sample near-initial weights. */
  emaWarmup: z.boolean().default(true),
  batchSize: posInt.default(32),
  epochs: z.number().positive().default(50),
  /** Total steps; default epochs × steps per epoch. */
  steps: posInt.optional(),
  seed: nonNegInt.default(0),
  /** Run directory (checkpoints, log.jsonl, metrics.jsonl, samples/). */
  out: z.string({ error: 'is required (the run directory)' }).min(1),
  checkpointEvery: posInt.default(500),
  logEvery: posInt.default(10),
  keep: nonNegInt.default(3),
};

/** `conditionDropout` (or its old name `labelDropout`), default 0.1; the two must agree when both are given. */
function dropoutOf(c: { conditionDropout?: number; labelDropout?: number }): number {
  return c.conditionDropout ?? c.labelDropout ?? 0.1;
}

/** Adds the dropout alias check to a schema holding DiffusionTrainFields. */
function checkDropoutAlias(c: { conditionDropout?: number; labelDropout?: number }, ctx: z.RefinementCtx): void {
  if (c.conditionDropout != null && c.labelDropout != null && c.conditionDropout !== c.labelDropout) {
    ctx.addIssue({ code: 'custom', path: ['labelDropout'], message: `is the old name of conditionDropout, and the two differ (${c.labelDropout} vs ${c.conditionDropout}): give one` });
  }
}

/** Output fields: `labelDropout` folded into `conditionDropout`. */
function foldDropout<T extends { conditionDropout?: number; labelDropout?: number }>(c: T): Omit<T, 'labelDropout' | 'conditionDropout'> & { conditionDropout: number } {
  const { labelDropout: _old, conditionDropout: _new, ...rest } = c;
  return { ...rest, conditionDropout: dropoutOf(c) };
}

/** A generic diffusion run's config (zod; errors name the field). */
export const DiffusionTrainConfigSchema = z.object(DiffusionTrainFields).strict().superRefine(checkDropoutAlias).transform(foldDropout);
export type DiffusionTrainConfig = z.output<typeof DiffusionTrainConfigSchema>;
export type DiffusionTrainConfigInput = z.input<typeof DiffusionTrainConfigSchema>;

export const Stage2ConfigSchema = z
  .object({
    /** A trained stage-1 run directory: decoder checkpoint, `stats.safetensors` and the encoder spec in its config. */
    stage1: z.string().min(1).optional(),
    /** Encoder spec (without `stage1`; with it, must be absent or equal to the stage-1 run's). */
    encoder: z.string().min(1).optional(),
    /** Square input side in px (default: the stage-1 run's, else the encoder's). */
    imageSize: posInt.optional(),
    /** Latent statistics (default `<stage1>/stats.safetensors`; required without `stage1`). */
    stats: z.string().min(1).optional(),
    /** `folder:<path>` | `manifest:<file.jsonl>` | `emoji:google[,…]` (a bare path is a folder). */
    data: z.string({ error: 'is required (folder:<path> | manifest:<file.jsonl> | emoji:google)' }).min(1),
    /** Keep only these class names (labels are renumbered in this order). */
    classes: z.array(z.string().min(1)).min(1).optional(),
    /** Held-out share (fraction in (0, 1) or a count): the FD_r normaliser and the probe's test set. */
    heldOut: z.number().min(0).default(0.1),
    splitSeed: nonNegInt.default(0),
    maxImages: posInt.optional(),
    /** `cache`: encode every image once to `cacheDir` (safetensors, keyed); `online`: encode each batch. */
    latents: z.enum(['cache', 'online']).default('cache'),
    /** Where latent caches live (default `<out>/latents`). */
    cacheDir: z.string().min(1).optional(),
    /** Images per encoder forward when caching. */
    encodeBatch: posInt.default(16),
    samples: Stage2SamplesSchema.default(() => Stage2SamplesSchema.parse({})),
    metrics: Stage2MetricsSchema.default(() => Stage2MetricsSchema.parse({})),
    ...DiffusionTrainFields,
  })
  .strict()
  .superRefine((c, ctx) => {
    const bad = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (c.stage1 == null) {
      if (c.encoder == null) bad(['encoder'], 'is required without `stage1` (an encoder spec, e.g. mobilenetv2-nsfwjs[layers=last3])');
      if (c.stats == null) bad(['stats'], 'is required without `stage1` (a latent statistics file)');
    }
    const m = c.model;
    const size = DIT_SIZES[m.preset];
    const depth = m.depth ?? size.depth;
    const base = resolveBaseDepth(c);
    if (m.conditioning === 'adaln') {
      if (base != null && m.baseDepth != null) bad(['model', 'baseDepth'], 'a base head needs in-context conditioning (the RAEv2 DiT); use `none` with adaln');
      if (m.repa != null) bad(['model', 'repa'], 'classic REPA is implemented for in-context conditioning only');
    }
    if (base != null && base > depth[0]) bad(['model', 'baseDepth'], `base head depth ${base} is beyond the body depth ${depth[0]}`);
    if (m.repa != null && m.repa.depth > depth[0]) bad(['model', 'repa', 'depth'], `REPA depth ${m.repa.depth} is beyond the body depth ${depth[0]}`);
    for (const [k, g] of [['samples', c.samples.guidance], ['metrics', c.metrics.guidance]] as const) {
      if (guidanceParts(g.method).free && base == null) bad([k, 'guidance', 'method'], `free guidance needs a base head (model.baseDepth), which this model has not`);
    }
    if (c.schedule.kind !== 'constant' && c.steps != null && c.schedule.warmupSteps > c.steps) bad(['schedule', 'warmupSteps'], `warm-up (${c.schedule.warmupSteps}) exceeds the run's ${c.steps} steps`);
    checkDropoutAlias(c, ctx);
  })
  .transform(foldDropout);

export type Stage2Config = z.output<typeof Stage2ConfigSchema>;
export type Stage2ConfigInput = z.input<typeof Stage2ConfigSchema>;

/** Fields that may change when resuming (they do not change what the weights mean). */
export const STAGE2_RESUME_IGNORE = ['steps', 'epochs', 'checkpointEvery', 'logEvery', 'keep', 'samples', 'metrics', 'encodeBatch', 'out', 'cacheDir', 'latents', 'stage1', 'stats'] as const;

/** Validate a merged config; `source` names where it came from (e.g. `config run.json + flags`). */
export function parseStage2Config(value: unknown, source = 'stage-2 config'): Stage2Config {
  return parseWith(Stage2ConfigSchema, value, source);
}

/** The base-head depth a config asks for (null: none). */
export function resolveBaseDepth(c: Pick<DiffusionTrainConfig, 'model'>): number | null {
  const b = c.model.baseDepth;
  if (b === 'none' || b === null) return null;
  if (b != null) return b;
  return c.model.conditioning === 'in-context' ? DIT_SIZES[c.model.preset].baseDepth : null;
}

/** Shape of the latent the DiT models: grid [h, w] and channels C. */
export interface LatentShape {
  grid: [number, number];
  channels: number;
}

/**
 * The validated DiT config for a stage-2 config, latent shape and condition (throws naming the
 * field, e.g. width < channels). `condition`: a number = class labels with that many classes, or
 * a condition config ({kind, …}) for the in-context DiT.
 */
export function resolveDiTConfig(c: Pick<DiffusionTrainConfig, 'model'>, latent: LatentShape, condition: number | ConditionConfig, source = 'stage-2 model'): DiTConfig {
  const m = c.model;
  const cond: ConditionConfig = typeof condition === 'number' ? { kind: 'class', numClasses: condition } : condition;
  const numClasses = cond.kind === 'class' && typeof cond.numClasses === 'number' ? cond.numClasses : undefined;
  if (m.conditioning === 'adaln' && numClasses == null) throw new Error(`${source}: adaLN conditioning (RAE v1) takes class labels only; condition "${cond.kind}" needs model.conditioning = in-context`);
  const size = DIT_SIZES[m.preset];
  const common = {
    inputSize: latent.grid,
    inChannels: latent.channels,
    hiddenSize: m.hiddenSize ?? fitWidth(size.hiddenSize, latent.channels, m.numHeads ?? size.numHeads), // the preset widens to the latent
    depth: m.depth ?? size.depth,
    numHeads: m.numHeads ?? size.numHeads,
    ...(numClasses != null ? { numClasses } : {}),
    ...(m.mlpRatio != null ? { mlpRatio: m.mlpRatio } : {}),
    ...(m.prediction != null ? { prediction: m.prediction === 'x' ? 'x' : 'velocity' } : {}),
  };
  if (m.conditioning === 'adaln') return parseDiTConfig({ arch: 'rae', ...common }, source);
  return parseDiTConfig({
    arch: 'raev2',
    ...common,
    condition: cond,
    baseDepth: resolveBaseDepth(c),
    repa: m.repa ? { depth: m.repa.depth, targetDim: latent.channels, hidden: m.repa.hidden } : null,
    ...(m.numTimeTokens != null ? { numTimeTokens: m.numTimeTokens } : {}),
    ...(m.numCondTokens != null ? { numCondTokens: m.numCondTokens } : {}),
  }, source);
}

/** The shift s: the config's number, or sqrt(N·C / 4096) for `auto`. */
export function resolveShift(c: Pick<DiffusionTrainConfig, 'transport'>, latent: LatentShape): number {
  const s = c.transport.shift;
  return s === 'auto' ? dimensionShift(latent.grid[0] * latent.grid[1], latent.channels) : s;
}

/** The training objective for a config, latent shape and model prediction. */
export function resolveTransport(c: Pick<DiffusionTrainConfig, 'transport' | 'model'>, latent: LatentShape, prediction: 'x' | 'velocity'): TransportConfig {
  const t = c.transport;
  return parseTransportConfig({
    prediction,
    timeDist: t.timeDist,
    mu: t.mu,
    sigma: t.sigma,
    // RAE v1 draws uniform t on [0, 1 − 1/1000] for velocity training
    tMax: prediction === 'velocity' && t.timeDist === 'uniform' ? 1 - 1 / 1000 : 1,
    shift: resolveShift(c, latent),
    tEps: t.tEps,
    baseWeight: t.baseWeight,
    repaWeight: c.model.repa?.weight ?? 0.5,
  }, 'stage-2 transport');
}
