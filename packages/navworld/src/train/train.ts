/**
 * Train the navigation world model: latent world (rendered + encoded once, cached) → action scale
 * measured on the training trajectories → NavigationSource → core's trainDiffusion (the one generic
 * stage-2 loop: CFG dropout to the zero condition, flow matching, base head, EMA, checkpoints).
 * Writes `<out>/navworld.json` (what rollouts and evaluation need to rebuild the condition).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { trainDiffusion, planDiffusion, writeFileAtomic, readJsonFile, type DiffusionResult } from '@raev2/core';
import { ActionScaleSchema, measureActionScale, type ActionScale } from '../actions.js';
import { NavigationConditionSchema, type NavigationConditionConfig } from '../condition/embedder.js';
import '../condition/register.js';
import { loadLatentWorld, tokensPerFrame, type LatentWorld } from '../data/latents.js';
import { prepareLatentWorld } from '../data/prepare.js';
import { NavigationSource } from '../data/source.js';
import type { NavTrainConfig } from './config.js';
import { WorldSpecSchema } from '../world/dataset.js';

export const NAV_FILES = { info: 'navworld.json', latents: 'latents.safetensors' } as const;

/** What a trained run records beside its checkpoints. */
export const NavRunInfoSchema = z.object({
  condition: NavigationConditionSchema,
  scale: ActionScaleSchema,
  maxOffset: z.number().int().positive(),
  shift: z.number().positive(),
  latents: z.string(),
  encoder: z.string(),
  size: z.number().int().positive(),
  world: WorldSpecSchema,
}).strict();
export type NavRunInfo = z.infer<typeof NavRunInfoSchema>;

/** The latent world of a config: the cache file when it exists, else rendered + encoded and saved. */
export async function latentWorldFor(cfg: Pick<NavTrainConfig, 'latents' | 'world' | 'encoder' | 'out'>): Promise<{ world: LatentWorld; file: string }> {
  const file = cfg.latents ?? path.join(cfg.out, NAV_FILES.latents);
  if (fs.existsSync(file)) return { world: loadLatentWorld(file), file };
  return { world: await prepareLatentWorld(cfg.world, cfg.encoder, file), file };
}

/** The navigation condition config for a world and training config. */
export function navConditionConfig(world: LatentWorld, cfg: Pick<NavTrainConfig, 'contextFrames' | 'actionTokens' | 'frameEmbedding' | 'contextRope'>): NavigationConditionConfig {
  return NavigationConditionSchema.parse({ kind: 'navigation', contextFrames: cfg.contextFrames, tokensPerFrame: tokensPerFrame(world), channels: world.channels, actionTokens: cfg.actionTokens, frameEmbedding: cfg.frameEmbedding, contextRope: cfg.contextRope });
}

/** The training source over the training split, as core's ConditionedLatents. */
export function trainingSource(world: LatentWorld, condition: NavigationConditionConfig, scale: ActionScale, maxOffset: number) {
  const src = new NavigationSource(world, { splits: ['train'], condition, scale, maxOffset });
  return Object.assign(src, { grid: world.grid, channels: world.channels });
}

/** Train (or resume) a navworld run. */
export async function trainNavWorld(cfg: NavTrainConfig, opts: { resume?: boolean | string; handleSignals?: boolean; stopAt?: number } = {}): Promise<DiffusionResult & { info: NavRunInfo }> {
  const { world, file } = await latentWorldFor(cfg);
  const condition = navConditionConfig(world, cfg);
  const train = world.trajectories.filter((t) => t.split === 'train').map((t) => t.poses);
  const scale = measureActionScale(train, cfg.metricStep, cfg.maxOffset);
  const source = trainingSource(world, condition, scale, cfg.maxOffset);
  let info: NavRunInfo | null = null;
  const plan = planDiffusion(cfg, source);
  const result = await trainDiffusion(cfg, source, {
    resume: opts.resume,
    handleSignals: opts.handleSignals,
    stopAt: opts.stopAt,
    plan,
    runConfig: { config: cfg, dit: plan.dit },
    configIgnore: ['config.steps', 'config.checkpointEvery', 'config.logEvery', 'config.keep', 'config.out', 'config.latents'],
    onStart: ({ plan }) => {
      info = { condition, scale, maxOffset: cfg.maxOffset, shift: plan.shift, latents: path.relative(cfg.out, file), encoder: cfg.encoder, size: cfg.world.size, world: cfg.world };
      writeFileAtomic(path.join(cfg.out, NAV_FILES.info), JSON.stringify(info, null, 2) + '\n');
    },
  });
  return { ...result, info: info! };
}

/** Read `<run>/navworld.json`. */
export function readNavRunInfo(run: string): NavRunInfo {
  return readJsonFile(NavRunInfoSchema, path.join(run, NAV_FILES.info));
}
