/** `raev2 navworld plan`: CEM toward goal images on held-out maps vs random shooting and the no-action model (ATE / RPE), executed in the simulator. */
import * as path from 'node:path';
import { z } from 'zod';
import { GuidanceFlag } from './guidance.js';
import { initRuntime, parseFlags, writeFileAtomic, type Command } from '@raev2/core';
import { loadLatentWorld } from '../data/latents.js';
import { loadNavModel } from '../model/load.js';
import { episodePaths, PLAN_DEFAULTS, planEpisodes } from '../plan/episodes.js';
import { Simulator } from '../eval/frames.js';
import { topDownMap } from '../report/svg.js';

const int = (min: number) => z.coerce.number().int().min(min);
const Flags = z.object({
  run: z.string({ error: 'is required (a navworld train run)' }).min(1),
  out: z.string({ error: 'is required (output folder)' }).min(1),
  episodes: int(1).default(8),
  samples: int(2).default(PLAN_DEFAULTS.samples),
  elites: int(1).default(PLAN_DEFAULTS.elites),
  iterations: int(1).default(PLAN_DEFAULTS.iterations),
  horizon: int(1).default(PLAN_DEFAULTS.horizon),
  stride: int(1).default(PLAN_DEFAULTS.stride),
  steps: int(1).default(PLAN_DEFAULTS.steps),
  guidance: GuidanceFlag,
  split: z.enum(['heldout-map', 'heldout-traj']).default('heldout-map'),
  space: z.enum(['controls', 'actions']).default('controls'),
  box: z.enum(['training', 'full']).default('training'),
  seed: int(0).default(0),
}).strict()
  .refine((f) => f.elites <= f.samples, { message: 'must be ≤ --samples', path: ['elites'] })
  .refine((f) => !(f.box === 'full' && f.space === 'controls'), { message: "'full' needs --space actions (controls are searched inside their training range)", path: ['box'] });

const usage = `usage: raev2 navworld plan --run <train run> --out <folder> [flags]

For each episode the goal is the true frame horizon·stride frames ahead on a held-out trajectory
(default 2 × 2 frames: 1 s); CEM plans <horizon> actions of <stride> frames each, scored by the cosine
distance of the predicted end frame's latent to the goal latent (with --steps 1, the default, the
model's expected frame); random shooting draws as many candidates; the no-action model plans with
actions zeroed. Plans run in the simulator; ATE / RPE / final error (m) against the true path go to
plan.json, the first episode's paths to plan_map.svg.

  --episodes N --samples N --elites N --iterations N --horizon L --stride K
  --steps N --guidance none|free:<w>|cfg:<w> --split heldout-map|heldout-traj --seed N
  --space controls|actions  search the agent's controls, a speed and a yaw rate per action (default),
                        or the model's action components (dx', dy', dyaw) independently
  --box training|full   search inside the training range of what is searched (default) or, for
                        actions, the whole normalised box`;

export const planCommand: Command = {
  name: 'navworld plan',
  summary: 'plan toward goal images with CEM (vs random shooting and the no-action model): ATE / RPE',
  usage,
  async run(argv) {
    const f = parseFlags(argv, Object.fromEntries(['run', 'out', 'episodes', 'samples', 'elites', 'iterations', 'horizon', 'stride', 'steps', 'guidance', 'split', 'seed', 'box', 'space'].map((k) => [k, { type: 'string' as const }])), Flags, 'navworld plan');
    await initRuntime();
    const m = loadNavModel(f.run);
    try {
      const world = loadLatentWorld(path.resolve(f.run, m.info.latents));
      const guidance = f.guidance;
      const s = planEpisodes(m, world, f.split, f.episodes, { horizon: f.horizon, stride: f.stride, samples: f.samples, elites: f.elites, iterations: f.iterations, steps: f.steps, guidance, seed: f.seed, box: f.box, space: f.space }, (d) => console.error(`navworld plan: episode ${d}/${f.episodes}`));
      writeFileAtomic(path.join(f.out, 'plan.json'), JSON.stringify({ run: f.run, checkpoint: m.checkpoint, flags: f, ...s }, null, 1) + '\n');
      const ep = s.episodes[0];
      writeFileAtomic(path.join(f.out, 'plan_map.svg'), topDownMap(new Simulator(m.info.world).map(ep.map), episodePaths(ep), { scale: 80, around: 0.75 }));
      for (const [p, v] of Object.entries(s.mean)) console.log(`${p.padEnd(14)} ATE ${v.ate.toFixed(3)} m  RPE ${v.rpe.toFixed(3)} m  final ${v.final.toFixed(3)} m`);
    } finally {
      m.dit.dispose();
    }
  },
};
