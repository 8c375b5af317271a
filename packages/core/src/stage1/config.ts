/**
 * The stage-1 (decoder) training config (docs/method.md, stage 1): one zod schema with CPU-sized
 * defaults; every published setting is expressible, and the GAN, clipping and augmentation defaults are
 * the published ones (no gradient clipping, DiffAug without cutout, spectral norm on D's heads). A JSON file (`--config`) is merged with CLI flags, then
 * validated here, so errors name the field and the file.
 */
import { z } from 'zod';
import { DECODER_PRESETS } from '../rae/decoder.js';
import { DiffAugSchema } from '../rae/losses/diffaug.js';
import { NOISE_TAU } from '../rae/noise.js';
import { parseWith } from '../util/config.js';

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const betas = z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]);

export const PerceptualSchema = z
  .object({
    /** w_p (published: 1.0). 0 switches the term off. */
    weight: z.number().min(0).default(1.0),
    /**
     * Feature network: `mobilenetv2` (multi-scale MobileNetV2 taps, offline), `lpips:<file.safetensors>`
     * (VGG16-LPIPS weights), an encoder spec whose selected layers are used, or `none`.
     */
    net: z.string().min(1).default('mobilenetv2'),
  })
  .strict();

export const GanSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** w_g (published: 0.75). */
    weight: z.number().min(0).default(0.75),
    /** Epoch (may be fractional) from which D updates; default 6/16 of the run. */
    discStart: z.number().min(0).nullable().default(null),
    /** Epoch from which the decoder feels L_G; default 8/16 of the run. */
    ganStart: z.number().min(0).nullable().default(null),
    dLoss: z.enum(['hinge', 'vanilla']).default('hinge'),
    gLoss: z.enum(['hinge', 'nonsaturating']).default('hinge'),
    /** Frozen backbone of D: an encoder spec whose selected blocks are tapped (each gets a head). */
    backbone: z.string().min(1).default('mobilenetv2-nsfwjs[layers=all]'),
    /** Kernel of the heads' residual token conv (odd). */
    kernel: posInt.refine((k) => k % 2 === 1, 'must be odd').default(3),
    lr: z.number().positive().default(2e-4),
    betas: betas.default([0.9, 0.95]),
    /** Upper clamp of the adaptive weight λ. */
    maxWeight: z.number().positive().default(1e4),
    /** Quantise D's fakes to 8-bit levels in D's update (the generator's pass is never quantised). */
    quantize: z.boolean().default(true),
    /** Spectral norm on every conv of D's heads (published: on). */
    spectralNorm: z.boolean().default(true),
    /** DiffAugment of D's inputs; false switches it off. Published: colour + translation, cutout 0. */
    diffaug: z.union([DiffAugSchema, z.literal(false)]).default({ policies: ['color', 'translation', 'cutout'], translationRatio: 0.125, cutoutRatio: 0 }),
  })
  .strict();

export const Stage1ConfigSchema = z
  .object({
    /** Frozen encoder and layer selection, e.g. `mobilenetv2-nsfwjs[layers=last3]` or `dinov2-vit-b14reg[layers=last4]`. */
    encoder: z.string().min(1).default('mobilenetv2-nsfwjs[layers=last3]'),
    /** Square input side in px, passed as `res=` to an encoder spec that sets none. */
    imageSize: posInt.optional(),
    /** `folder:<path>` | `manifest:<file.jsonl>` | `emoji:google[,twitter,…]` (a bare path is a folder). */
    data: z.string({ error: 'is required (folder:<path> | manifest:<file.jsonl> | emoji:google)' }).min(1),
    /** Images held out of training (fraction in (0,1) or a count) — what `stage1 eval` scores. */
    heldOut: z.number().min(0).default(0),
    /** Seed of the train / held-out split. */
    splitSeed: nonNegInt.default(0),
    /** Use at most this many training images (after the split). */
    maxImages: posInt.optional(),
    decoder: z
      .object({
        preset: z.enum(Object.keys(DECODER_PRESETS) as [keyof typeof DECODER_PRESETS, ...(keyof typeof DECODER_PRESETS)[]]).default('tiny'),
        /** ViTMAEConfig-style overrides, e.g. {"decoder_num_hidden_layers": 2}. */
        overrides: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}),
      })
      .strict()
      .default({ preset: 'tiny', overrides: {} }),
    batchSize: posInt.default(8),
    epochs: z.number().positive().default(16),
    /** Total steps; default epochs × steps per epoch. */
    steps: posInt.optional(),
    lr: z.number().positive().default(2e-4),
    finalLr: z.number().min(0).default(2e-5),
    warmupEpochs: z.number().min(0).default(1),
    betas: betas.default([0.9, 0.95]),
    weightDecay: z.number().min(0).default(0),
    /** Global gradient-norm clip of the decoder (null: none, as published). */
    gradClip: z.number().positive().nullable().default(null),
    ema: z.number().min(0).max(1).default(0.9978),
    /** EMA warm-up, as stage 2: decay_t = min(ema, (1 + t)/(10 + t)), so short runs do not keep near-initial weights. */
    emaWarmup: z.boolean().default(true),
    /** Noise augmentation τ of the raw latent (docs/method.md, decoder). */
    noiseTau: z.number().min(0).default(NOISE_TAU),
    /** L1 weight. */
    l1: z.number().min(0).default(1.0),
    perceptual: PerceptualSchema.default({ weight: 1.0, net: 'mobilenetv2' }),
    gan: GanSchema.default(() => GanSchema.parse({})),
    /** `latents`: encode every training image once (valid: the encoder is frozen and there is no image augmentation); `none`: encode each batch. */
    cache: z.enum(['latents', 'none']).default('latents'),
    seed: nonNegInt.default(0),
    /** Run directory (checkpoints, log.jsonl, samples/, stats.safetensors). */
    out: z.string({ error: 'is required (the run directory)' }).min(1),
    checkpointEvery: posInt.default(200),
    logEvery: posInt.default(10),
    keep: nonNegInt.default(3),
    /** Write a grid of originals beside reconstructions every this many steps (0: only at the end). */
    sampleEvery: nonNegInt.default(200),
    sampleCount: posInt.default(8),
    /** Images per forward pass when encoding caches and statistics. */
    encodeBatch: posInt.default(16),
  })
  .strict();

export type Stage1Config = z.output<typeof Stage1ConfigSchema>;
export type Stage1ConfigInput = z.input<typeof Stage1ConfigSchema>;

/** Fields that may change when resuming a run (they do not change the trained weights' meaning). */
export const STAGE1_RESUME_IGNORE = ['steps', 'epochs', 'checkpointEvery', 'logEvery', 'keep', 'sampleEvery', 'sampleCount', 'encodeBatch', 'out', 'cache'] as const;

/** Deep-merge `flags` over `file` (plain objects merge; anything else replaces). */
export function mergeConfig(file: Record<string, unknown>, flags: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...file };
  for (const [k, v] of Object.entries(flags)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] = isObject(prev) && isObject(v) ? mergeConfig(prev, v) : v;
  }
  return out;
}

/** Validate a merged config; `source` names where it came from (e.g. `config run.json + flags`). */
export function parseStage1Config(value: unknown, source = 'stage-1 config'): Stage1Config {
  return parseWith(Stage1ConfigSchema, value, source);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v != null && typeof v === 'object' && !Array.isArray(v);
}
