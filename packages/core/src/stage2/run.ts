/**
 * What a stage-2 checkpoint records about itself, so `raev2 sample` needs nothing but a checkpoint:
 * the training config plus what it resolved to — the DiT config, latent shape, shift, class names,
 * encoder spec, image size and a hash of the latent statistics. Also loads the (EMA) model back.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { parseWith } from '../util/config.js';
import { latestCheckpoint, loadModuleWeights, readCheckpointState } from '../io/checkpoint.js';
import { DiTConfigSchema, type DiTConfig } from '../dit/config.js';
import { createDiT } from '../dit/create.js';
import type { DiTModel } from '../dit/model.js';
import { Stage2ConfigSchema, type Stage2Config } from './config.js';

/** Module name of the DiT in stage-2 checkpoints. */
export const STAGE2_MODULE = 'dit';

export const ResolvedSchema = z
  .object({
    dit: DiTConfigSchema,
    grid: z.tuple([z.number().int().positive(), z.number().int().positive()]),
    channels: z.number().int().positive(),
    shift: z.number().positive(),
    classes: z.array(z.string()),
    encoder: z.string(),
    imageSize: z.tuple([z.number().int().positive(), z.number().int().positive()]),
    /** sha256 of the latent statistics the model was trained with. */
    stats: z.string(),
  })
  .strict();
export type Resolved = z.infer<typeof ResolvedSchema>;

/** The config saved in a stage-2 checkpoint's state.json. */
export const Stage2RunConfigSchema = z.object({ config: Stage2ConfigSchema, resolved: ResolvedSchema }).strict();
export type Stage2RunConfig = { config: Stage2Config; resolved: Resolved };

/** A checkpoint folder for a run folder (its latest) or a checkpoint folder itself. */
export function resolveCheckpoint(runOrCkpt: string): string {
  if (!fs.existsSync(runOrCkpt)) throw new Error(`${runOrCkpt} does not exist (expected a stage-2 run directory or one of its ckpt-<step> folders)`);
  if (fs.existsSync(path.join(runOrCkpt, 'state.json'))) return runOrCkpt;
  const latest = latestCheckpoint(runOrCkpt);
  if (latest == null) throw new Error(`${runOrCkpt} holds no checkpoint (no ckpt-<step>/state.json): train it with \`raev2 stage2 train\` first`);
  return latest;
}

/** Read and validate a stage-2 checkpoint's config (errors name the file and field). */
export function readStage2Checkpoint(runOrCkpt: string): { ckpt: string; step: number; run: Stage2RunConfig } {
  const ckpt = resolveCheckpoint(runOrCkpt);
  const state = readCheckpointState(ckpt);
  if (!state.modules.includes(STAGE2_MODULE)) throw new Error(`checkpoint ${ckpt} holds no "${STAGE2_MODULE}" module (it has: ${state.modules.join(', ') || 'none'}): not a stage-2 checkpoint`);
  const run = parseWith(Stage2RunConfigSchema, state.config, `stage-2 config in ${path.join(ckpt, 'state.json')}`) as Stage2RunConfig;
  return { ckpt, step: state.step, run };
}

/** Build the DiT of a checkpoint and load its weights (EMA by default), in eval mode. */
export function loadStage2Model(ckpt: string, dit: DiTConfig, opts: { ema?: boolean } = {}): DiTModel {
  const model = createDiT(dit);
  try {
    loadModuleWeights(ckpt, STAGE2_MODULE, model, { ema: opts.ema ?? true });
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model.eval();
}
