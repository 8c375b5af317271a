/**
 * `t2i train` config (zod; errors name the field): the data, the frozen image encoder, the text
 * encoder spec, the text-condition options, which model to train (text-conditioned, or one of the
 * evaluation baselines), and core's generic diffusion fields (model, optimiser, steps …).
 */
import { z } from 'zod';
import { DiffusionTrainFields, DiffusionTrainConfigSchema, parseWith, type DiffusionTrainConfig } from '@raev2/core';
import { TextConditionOptionsSchema } from '../condition/text_condition.js';

export const T2ITrainConfigSchema = z
  .object({
    /** `emoji` (the compositional caption set; held-out combinations never trained on) | `manifest:<file.jsonl>` | `folder:<dir>` (images + same-named .txt). */
    data: z.string().min(1).default('emoji'),
    /** Text encoder spec (`hf:<folder>`, a model folder, `siglip2-base-patch16-256` …). */
    textEncoder: z.string({ error: 'is required (a text encoder spec, e.g. hf:<tower folder>)' }).min(1),
    /** Frozen image encoder spec of the latent. */
    encoder: z.string().min(1).default('mobilenetv2-nsfwjs[layers=last3]'),
    imageSize: z.number().int().positive().default(96),
    /** Latent statistics file (default: fitted on the training images, written to <out>/stats.safetensors). */
    stats: z.string().min(1).optional(),
    text: TextConditionOptionsSchema.default(() => TextConditionOptionsSchema.parse({})),
    /** `text` (the model), `caption-id` (one-hot caption ids, the class condition kind), `shuffled` (text of another image). */
    variant: z.enum(['text', 'caption-id', 'shuffled']).default('text'),
    /** Group-balanced sampling exponent α (train/balance.ts): a group of n images is drawn ∝ n^α; 1 = every image equally. */
    groupSampling: z.number().gt(0).max(1).default(1),
    ...DiffusionTrainFields,
  })
  .strict();
export type T2ITrainConfig = z.infer<typeof T2ITrainConfigSchema>;
export type T2ITrainConfigInput = z.input<typeof T2ITrainConfigSchema>;

/** Validate a config (errors name `source` and the field). */
export function parseT2ITrainConfig(value: unknown, source = 't2i train config'): T2ITrainConfig {
  return parseWith(T2ITrainConfigSchema, value, source);
}

/** The generic diffusion part of a T2I config. */
export function diffusionConfigOf(c: T2ITrainConfig): DiffusionTrainConfig {
  const { data: _d, textEncoder: _t, encoder: _e, imageSize: _i, stats: _s, text: _x, variant: _v, groupSampling: _g, ...rest } = c;
  return parseWith(DiffusionTrainConfigSchema, rest, 't2i train config');
}
