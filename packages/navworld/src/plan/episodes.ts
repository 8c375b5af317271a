/**
 * Planning episodes on held-out data: from a true context at frame i, the goal is the true frame at
 * i + L·stride; CEM, random shooting (same model calls) and CEM with the no-action model each plan L
 * actions in one search space and box (by default the agent's controls inside their training range),
 * which are executed in the simulator; ATE / RPE / final error against the true path.
 */
import { Rng } from '@raev2/core';
import { tokensPerFrame, type LatentWorld } from '../data/latents.js';
import type { NavModel } from '../model/load.js';
import { Simulator } from '../eval/frames.js';
import { pickExamples } from '../eval/evaluate.js';
import type { Split } from '../world/dataset.js';
import type { Pose } from '../world/pose.js';
import { executeActions, executeControls, FULL_ACTION_BOX, pathErrors, planActions, trainingActionBox, trainingControlBox, type PlanOptions, type PlanSpace } from './cem.js';

export const PLANNERS = ['cem', 'random', 'cem-no-action'] as const;
export type Planner = (typeof PLANNERS)[number];

/**
 * Default planning settings (docs/navworld.md, planning): two actions of 2 frames toward a goal 1 s
 * ahead (at 2 s the latent cost no longer ranks turns), scored by the expected frame (one sampling
 * step), CEM with 48 samples, 6 elites and 4 iterations (random shooting draws the same 192).
 */
export const PLAN_DEFAULTS = { horizon: 2, stride: 2, samples: 48, elites: 6, iterations: 4, steps: 1 } as const;

export interface Episode {
  map: number;
  start: Pose;
  truth: Pose[];
  paths: Record<Planner, Pose[]>;
  errors: Record<Planner, { ate: number; rpe: number; final: number }>;
}

/** An episode's paths for drawing, each from the start pose: the true one, then each planner's. */
export function episodePaths(ep: Episode): Record<'true' | Planner, Pose[]> {
  return { true: [ep.start, ...ep.truth], ...Object.fromEntries(PLANNERS.map((p) => [p, [ep.start, ...ep.paths[p]]])) } as Record<'true' | Planner, Pose[]>;
}

export interface PlanSummary {
  episodes: Episode[];
  mean: Record<Planner, { ate: number; rpe: number; final: number }>;
  options: Omit<PlanOptions, 'method' | 'seed' | 'zeroAction' | 'box' | 'space'> & { box: PlanBox; space: PlanSpace };
}

/** Where planners search: the training range of what is searched (default) or, for actions, the full normalised box. */
export type PlanBox = 'training' | 'full';

/** Run `count` planning episodes on `split`. */
export function planEpisodes(m: NavModel, world: LatentWorld, split: Split, count: number, o: Omit<PlanOptions, 'method' | 'zeroAction' | 'box'> & { box?: PlanBox }, onEpisode?: (done: number) => void): PlanSummary {
  const sim = new Simulator(m.info.world);
  const boxName = o.box ?? 'training';
  const space = o.space ?? 'controls';
  if (space === 'controls' && boxName === 'full') throw new Error("planning box 'full' is for the 'actions' space; controls are searched inside their training range");
  const train = world.trajectories.filter((t) => t.split === 'train').map((t) => t.poses);
  const box = space === 'controls' ? trainingControlBox(train, o.stride) : boxName === 'full' ? FULL_ACTION_BOX : trainingActionBox(train, m.info.scale, o.stride);
  const n = m.info.condition.contextFrames;
  const fs = tokensPerFrame(world) * world.channels;
  const span = o.horizon * o.stride;
  const ex = pickExamples(world, split, n, span, count, new Rng(o.seed + 5));
  const episodes: Episode[] = ex.map(({ traj, i }, e) => {
    const context = Array.from({ length: n }, (_, j) => traj.latents.slice((i - n + 1 + j) * fs, (i + 2 + j - n) * fs));
    const goal = traj.latents.slice((i + span) * fs, (i + span + 1) * fs);
    const truth = Array.from({ length: o.horizon }, (_, l) => traj.poses[i + (l + 1) * o.stride]);
    const start = traj.poses[i];
    const paths = {} as Record<Planner, Pose[]>;
    const errors = {} as Episode['errors'];
    const map = sim.map(traj.map);
    for (const p of PLANNERS) {
      const { plan } = planActions(m, context, goal, start, { ...o, space, box, seed: o.seed + 31 * e, method: p === 'random' ? 'random' : 'cem', zeroAction: p === 'cem-no-action' });
      paths[p] = space === 'controls' ? executeControls(map, start, plan, o.stride) : executeActions(map, start, plan, m.info.scale);
      errors[p] = pathErrors(start, paths[p], truth);
    }
    onEpisode?.(e + 1);
    return { map: traj.map, start, truth, paths, errors };
  });
  const mean = {} as PlanSummary['mean'];
  for (const p of PLANNERS) {
    const avg = (k: 'ate' | 'rpe' | 'final') => episodes.reduce((s, ep) => s + ep.errors[p][k], 0) / episodes.length;
    mean[p] = { ate: avg('ate'), rpe: avg('rpe'), final: avg('final') };
  }
  const { seed: _s, ...options } = o;
  return { episodes, mean, options: { ...options, box: boxName, space } };
}
