/**
 * Load what rollouts, evaluation and planning need: the trained DiT^DH (EMA weights of the latest
 * or a given checkpoint, built from the config the checkpoint records), the run's navworld.json,
 * and the pixel decoder of a stage-1 run (its exported decoder, or the EMA weights of one of its
 * checkpoints) wrapped in an RAE with the latent world's statistics.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createDiT, createRAE, latestCheckpoint, loadDecoder, loadModuleWeights, readCheckpointState, parseDiTConfig, Rng, STAGE2_MODULE, type DiTModel, type RAE } from '@raev2/core';
import { loadEncoder, withResolution } from '@raev2/encoders';
import '../condition/register.js';
import { worldStats, type LatentWorld } from '../data/latents.js';
import { readNavRunInfo, type NavRunInfo } from '../train/train.js';

export interface NavModel {
  dit: DiTModel;
  info: NavRunInfo;
  checkpoint: string;
}

/** The DiT of a navworld run (EMA weights by default); `ckpt` overrides the latest checkpoint. */
export function loadNavModel(run: string, opts: { ckpt?: string; ema?: boolean } = {}): NavModel {
  const info = readNavRunInfo(run);
  const ckpt = opts.ckpt ?? latestCheckpoint(run);
  if (ckpt == null) throw new Error(`${run}: no checkpoint (train first: raev2 navworld train --out ${run})`);
  const state = readCheckpointState(ckpt);
  const dit = createDiT(parseDiTConfig((state.config as { dit?: unknown }).dit, `${ckpt}/state.json config.dit`));
  loadModuleWeights(ckpt, STAGE2_MODULE, dit, { ema: opts.ema ?? true });
  return { dit: dit.eval() as DiTModel, info, checkpoint: ckpt };
}

/** A model of the same config with fresh (untrained) weights — the untrained baseline. */
export function untrainedLike(m: NavModel, seed = 12345): NavModel {
  return { ...m, dit: createDiT(m.dit.config, seed).eval() as DiTModel, checkpoint: 'untrained' };
}

/**
 * The RAE (frozen encoder + pixel decoder + the world's latent statistics) of a stage-1 run: its
 * exported `decoder/` when the run finished, else the EMA weights of its latest checkpoint.
 */
export async function loadWorldRAE(stage1: string, world: LatentWorld, encoderSpec: string, size: number): Promise<{ rae: RAE; source: string; dispose(): void }> {
  const { encoder, selection } = await loadEncoder(withResolution(encoderSpec, size));
  try {
    const exported = path.join(stage1, 'decoder');
    if (fs.existsSync(path.join(exported, 'config.json'))) {
      const rae = createRAE({ encoder, selection, decoder: loadDecoder(exported), stats: worldStats(world) });
      return { rae, source: exported, dispose: () => { rae.dispose(); encoder.dispose(); } };
    }
    const ckpt = latestCheckpoint(stage1);
    if (ckpt == null) throw new Error(`${stage1}: neither an exported decoder/ nor a checkpoint`);
    const cfg = readCheckpointState(ckpt).config as { decoder?: { preset?: string; overrides?: Record<string, unknown> }; seed?: number };
    const rae = createRAE({ encoder, selection, decoder: { preset: (cfg.decoder?.preset ?? 'tiny') as 'tiny', overrides: cfg.decoder?.overrides ?? {}, rng: new Rng(0) }, stats: worldStats(world) });
    loadModuleWeights(ckpt, 'decoder', rae.decoder, { ema: true });
    return { rae, source: ckpt, dispose: () => { rae.dispose(); encoder.dispose(); } };
  } catch (e) {
    encoder.dispose();
    throw e;
  }
}
