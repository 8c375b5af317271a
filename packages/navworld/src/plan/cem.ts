/**
 * Planning toward a goal image in latent space (docs/method.md, navigation world model): a sequence
 * of L actions, each `stride` frames ahead (offset k = stride), rolled out with the world model from
 * the true context; the score of a sequence is the cosine distance between the last predicted
 * latent and the goal's latent. CEM keeps the `elites` best of `samples` Gaussian draws per
 * iteration and refits mean/std; random shooting draws samples × iterations once and keeps the best.
 * Every candidate is sampled from the same noise, and every iteration reuses it (common random
 * numbers): with independent noise per candidate the sampling noise swamps the action's effect on the
 * score (docs/navworld.md: rank correlation with the simulator's goal distance 0.07 → 0.25).
 */
import { Rng } from '@raev2/core';
import { actionBetween, applyAction, type ActionScale } from '../actions.js';
import { navCondition, predictLatents, type PredictOptions } from '../model/rollout.js';
import type { NavModel } from '../model/load.js';
import { cosine } from '../eval/metrics.js';
import { wrapAngle, type Pose } from '../world/pose.js';
import { move } from '../world/motion.js';
import type { GridMap } from '../world/map.js';

export interface PlanOptions extends PredictOptions {
  /** Actions per plan L. */
  horizon: number;
  /** Frames per action (the model's time offset k). */
  stride: number;
  samples: number;
  elites: number;
  iterations: number;
  /** 'cem' | 'random' (random shooting with the same number of model calls). */
  method: 'cem' | 'random';
  /** What CEM executes: the mean of its last elites (default) or its best-scoring draw. */
  pick?: 'mean' | 'best';
  /** Bounds of the searched actions (default FULL_ACTION_BOX). */
  box?: ActionBox;
  /** Zero the actions the model sees (the no-action model as planner). */
  zeroAction?: boolean;
  seed: number;
}

/** Initial std of (dx', dy', dyaw) as a fraction of the searched box's half-width. */
const INIT_STD = [0.5, 0.15, 0.5];

/** Per-component bounds [dx', dy', dyaw] of the actions a planner searches. */
export interface ActionBox {
  lo: [number, number, number];
  hi: [number, number, number];
}

/** The whole normalised action box: dx', dy' ∈ [−1, 1], dyaw ∈ [−π/2, π/2]. */
export const FULL_ACTION_BOX: ActionBox = { lo: [-1, -1, -Math.PI / 2], hi: [1, 1, Math.PI / 2] };

/** Quantiles of the training actions that bound the planner's box (the central 96 %). */
const BOX_QUANTILES = [0.02, 0.98] as const;

/**
 * The range of the training actions at offset k: per component, the 2 % and 98 % quantiles (nearest
 * rank) of actionBetween(p_i, p_{i+k}) over the training trajectories. Plans searched inside it stay
 * where the model was trained; outside it (e.g. walking backwards, which the random walks never do)
 * the model extrapolates and the latent cost rewards whatever it happens to draw.
 */
export function trainingActionBox(trajectories: readonly (readonly Pose[])[], scale: ActionScale, k: number): ActionBox {
  const cols: number[][] = [[], [], []];
  for (const poses of trajectories) {
    for (let i = 0; i + k < poses.length; i++) actionBetween(poses[i], poses[i + k], scale).forEach((v, j) => cols[j].push(v));
  }
  if (cols[0].length === 0) throw new Error(`no training pair ${k} frames apart to bound the planner's actions`);
  const q = (j: number, p: number) => { const v = [...cols[j]].sort((a, b) => a - b); return v[Math.round(p * (v.length - 1))]; };
  return { lo: [q(0, BOX_QUANTILES[0]), q(1, BOX_QUANTILES[0]), q(2, BOX_QUANTILES[0])], hi: [q(0, BOX_QUANTILES[1]), q(1, BOX_QUANTILES[1]), q(2, BOX_QUANTILES[1])] };
}

/** Score action sequences [S][L][3]: cosine distance of the final predicted latent to the goal (lower is better). */
export function scoreSequences(m: NavModel, context: readonly Float32Array[], goal: Float32Array, seqs: number[][][], stride: number, o: PredictOptions & { zeroAction?: boolean }): number[] {
  const windows = seqs.map(() => [...context]);
  let last: Float32Array[] = [];
  for (let l = 0; l < seqs[0].length; l++) {
    const cond = navCondition(m, windows, seqs.map((s) => (o.zeroAction ? [0, 0, 0] : s[l])), seqs.map(() => stride));
    try {
      const z = predictLatents(m, cond, { ...o, sharedNoise: true });
      const d = z.dataSync() as Float32Array;
      z.dispose();
      const fs = d.length / seqs.length;
      last = seqs.map((_, r) => d.slice(r * fs, (r + 1) * fs));
    } finally {
      for (const t of Object.values(cond)) t?.dispose();
    }
    // the next action starts `stride` frames later; the window slides by the one predicted frame
    windows.forEach((w, r) => { w.shift(); w.push(last[r]); });
  }
  return last.map((z) => 1 - cosine(z, goal));
}

/** Plan L actions toward `goal` (standardised latent, flat) from `context` (n latents), inside `o.box` (default the full box). `score`: the best draw's cost. */
export function planActions(m: NavModel, context: readonly Float32Array[], goal: Float32Array, o: PlanOptions): { actions: number[][]; score: number; calls: number } {
  const rng = new Rng(o.seed);
  const L = o.horizon;
  const { lo, hi } = o.box ?? FULL_ACTION_BOX;
  const clip = (v: number, j: number) => Math.max(lo[j], Math.min(hi[j], v));
  let mean = Array.from({ length: L }, () => [0, 1, 2].map((j) => (lo[j] + hi[j]) / 2));
  let std = Array.from({ length: L }, () => [0, 1, 2].map((j) => INIT_STD[j] * (hi[j] - lo[j]) / 2));
  const draw = () => mean.map((mu, l) => mu.map((v, j) => clip(v + std[l][j] * rng.normal(), j)));
  let best = { actions: mean, score: Infinity };
  let calls = 0;
  const iters = o.method === 'cem' ? o.iterations : 1;
  const perIter = o.method === 'cem' ? o.samples : o.samples * o.iterations;
  for (let it = 0; it < iters; it++) {
    const seqs = Array.from({ length: perIter }, draw);
    const scores = scoreSequences(m, context, goal, seqs, o.stride, o);
    calls += perIter * L;
    const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
    if (order[0][0] < best.score) best = { actions: seqs[order[0][1]], score: order[0][0] };
    const elites = order.slice(0, Math.max(1, o.elites)).map(([, i]) => seqs[i]);
    mean = mean.map((_, l) => [0, 1, 2].map((j) => elites.reduce((s, e) => s + e[l][j], 0) / elites.length));
    // floor: 2.5 % of the box's width, so a collapsed population keeps exploring
    std = std.map((_, l) => [0, 1, 2].map((j) => Math.max(0.025 * (hi[j] - lo[j]), Math.sqrt(elites.reduce((s, e) => s + (e[l][j] - mean[l][j]) ** 2, 0) / elites.length))));
  }
  // CEM executes the mean of its last elites (as in PlaNet / PETS), not the single best-scoring draw:
  // the best score among many draws is the one the model overrates most (the winner's curse)
  if (o.method === 'cem' && (o.pick ?? 'mean') === 'mean') return { actions: mean, score: best.score, calls };
  return { ...best, calls };
}

/** Execute normalised actions in the simulator from `start` (translation with collisions, then the turn). → poses after each action. */
export function executeActions(map: GridMap, start: Pose, actions: readonly number[][], scale: NavModel['info']['scale']): Pose[] {
  const out: Pose[] = [];
  let p = start;
  for (const a of actions) {
    const target = applyAction(p, a, scale);
    // the translation in p's frame, as move() takes it (forward, left, no turn), then the heading
    const c = Math.cos(p.yaw), s = Math.sin(p.yaw);
    const ex = target.x - p.x, ey = target.y - p.y;
    const moved = move(map, p, c * ex + s * ey, -s * ex + c * ey, 0);
    p = { x: moved.x, y: moved.y, yaw: wrapAngle(target.yaw) };
    out.push(p);
  }
  return out;
}

/** ATE (RMSE of positions) and RPE (RMSE of step-to-step translation differences) of a path against the true one; both start at `start`. */
export function pathErrors(start: Pose, path: readonly Pose[], truth: readonly Pose[]): { ate: number; rpe: number; final: number } {
  if (path.length !== truth.length || path.length === 0) throw new Error(`pathErrors: ${path.length} poses vs ${truth.length} true poses`);
  let ate = 0, rpe = 0;
  for (let i = 0; i < path.length; i++) {
    ate += (path[i].x - truth[i].x) ** 2 + (path[i].y - truth[i].y) ** 2;
    const a = i === 0 ? start : path[i - 1], b = i === 0 ? start : truth[i - 1];
    rpe += (path[i].x - a.x - (truth[i].x - b.x)) ** 2 + (path[i].y - a.y - (truth[i].y - b.y)) ** 2;
  }
  const last = path.length - 1;
  return { ate: Math.sqrt(ate / path.length), rpe: Math.sqrt(rpe / path.length), final: Math.hypot(path[last].x - truth[last].x, path[last].y - truth[last].y) };
}
