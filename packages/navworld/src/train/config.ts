/**
 * `raev2 navworld train` config: the world, the frozen encoder, the navigation condition and the
 * generic diffusion fields of core (model, transport, CFG dropout, optimiser, EMA, steps …).
 */
import { z } from 'zod';
import { DiffusionTrainFields, parseWith } from '@raev2/core';
import { WorldSpecSchema } from '../world/dataset.js';

export const NavTrainConfigSchema = z.object({
  ...DiffusionTrainFields,
  world: WorldSpecSchema.default(() => WorldSpecSchema.parse({})),
  /** Frozen encoder (multi-layer latent) at the frame size. */
  encoder: z.string().min(1).default('mobilenetv2-nsfwjs[layers=last3]'),
  /** Latent world file (rendered + encoded on first use). */
  latents: z.string().min(1).optional(),
  contextFrames: z.number().int().positive().default(4),
  /** Largest time offset K (k ~ U{1..K}). */
  maxOffset: z.number().int().positive().default(8),
  actionTokens: z.number().int().positive().default(2),
  /** Learned frame embeddings on the context tokens (RAEv2: none). */
  frameEmbedding: z.boolean().default(false),
  /** Context tokens take the 2-D RoPE angles of their grid cell (RAEv2: angle 0). */
  contextRope: z.boolean().default(false),
  /** Metric waypoint spacing (m per frame): the world's nominal speed / fps. */
  metricStep: z.number().positive().default(0.2),
}).strict().transform(({ labelDropout, ...c }) => ({ ...c, conditionDropout: c.conditionDropout ?? labelDropout ?? 0.1 }));
export type NavTrainConfig = z.output<typeof NavTrainConfigSchema>;
export type NavTrainConfigInput = z.input<typeof NavTrainConfigSchema>;

/** Validate a navworld training config (errors name the source and field). */
export function parseNavTrainConfig(value: unknown, source = 'navworld train config'): NavTrainConfig {
  return parseWith(NavTrainConfigSchema, value, source);
}
