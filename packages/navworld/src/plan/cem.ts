/**
 * Planning toward a goal image in latent space (docs/method.md, navigation world model): L actions,
 * each `stride` frames apart; the score of a plan is the cosine distance between the latent the model
 * predicts at the plan's end and the goal's latent. CEM keeps the `elites` best of `samples` Gaussian
 * draws per iteration and refits mean/std; random shooting draws samples × iterations once and keeps
 * the best.
 *
 * What is searched (`space`): by default the agent's controls, a forward speed and a yaw rate held
 * for each action's `stride` frames (a unicycle, as the agent and RECON's robots move: the heading
 * follows the motion, like upstream NWM planning's yaw from the motion direction); or the model's
 * action components (dx', dy', dyaw) independently. Candidates stay inside the training range of
 * what is searched. The end frame is predicted in as few model calls as the trained offset allows
 * (one call for L·stride ≤ 8) and every candidate is scored from the same noise, fixed over CEM's
 * iterations (common random numbers). With one sampling step (`steps: 1`) the prediction is the
 * model's expected frame x̂(ε, t = 1), free of sampling noise. docs/navworld.md measures each choice.
 */
import { Rng } from '@raev2/core';
import { actionBetween, applyAction, type ActionScale } from '../actions.js';
import { navCondition, predictLatents, type PredictOptions } from '../model/rollout.js';
import type { NavModel } from '../model/load.js';
import { cosine } from '../eval/metrics.js';
import { wrapAngle, type Pose } from '../world/pose.js';
import { FPS, move } from '../world/motion.js';
import type { GridMap } from '../world/map.js';

/** What a planner searches: the agent's controls (speed, yaw rate per action) or the model's action components. */
export type PlanSpace = 'controls' | 'actions';

export interface PlanOptions extends PredictOptions {
  /** Actions per plan L. */
  horizon: number;
  /** Frames per action. */
  stride: number;
  samples: number;
  elites: number;
  iterations: number;
  /** 'cem' | 'random' (random shooting with the same number of model calls). */
  method: 'cem' | 'random';
  /** What CEM executes: the mean of its last elites (default) or its best-scoring draw. */
  pick?: 'mean' | 'best';
  /** What is searched (default 'controls'). */
  space?: PlanSpace;
  /** Bounds of the searched components: [speed, yaw rate] for controls (required), [dx', dy', dyaw] for actions (default FULL_ACTION_BOX). */
  box?: SearchBox;
  /** Zero the actions the model sees (the no-action model as planner). */
  zeroAction?: boolean;
  seed: number;
}

/** Initial std of each searched component as a fraction of the box's half-width. */
const INIT_STD: Record<PlanSpace, number[]> = { controls: [0.5, 0.5], actions: [0.5, 0.15, 0.5] };

/** Per-component bounds of what a planner searches. */
export interface SearchBox {
  lo: readonly number[];
  hi: readonly number[];
}

/** Bounds [dx', dy', dyaw] of normalised actions. */
export interface ActionBox extends SearchBox {
  lo: [number, number, number];
  hi: [number, number, number];
}

/** The whole normalised action box: dx', dy' ∈ [−1, 1], dyaw ∈ [−π/2, π/2]. */
export const FULL_ACTION_BOX: ActionBox = { lo: [-1, -1, -Math.PI / 2], hi: [1, 1, Math.PI / 2] };

/** Quantiles of the training data that bound the planner's box (the central 96 %). */
const BOX_QUANTILES = [0.02, 0.98] as const;

/** Per column, the BOX_QUANTILES (nearest rank). */
function quantileBox(cols: number[][]): { lo: number[]; hi: number[] } {
  const q = (v: number[], p: number) => { const s = [...v].sort((a, b) => a - b); return s[Math.round(p * (s.length - 1))]; };
  return { lo: cols.map((c) => q(c, BOX_QUANTILES[0])), hi: cols.map((c) => q(c, BOX_QUANTILES[1])) };
}

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
  const { lo, hi } = quantileBox(cols);
  return { lo: [lo[0], lo[1], lo[2]], hi: [hi[0], hi[1], hi[2]] };
}

/**
 * The range of the training controls over `stride` frames: per window i…i+stride, the mean forward
 * speed (path length / time, m/s) and mean yaw rate (summed wrapped yaw steps / time, rad/s); their
 * 2 % and 98 % quantiles (nearest rank) → box [speed, yaw rate].
 */
export function trainingControlBox(trajectories: readonly (readonly Pose[])[], stride: number): SearchBox {
  const cols: number[][] = [[], []];
  const time = stride / FPS;
  for (const p of trajectories) {
    for (let i = 0; i + stride < p.length; i++) {
      let d = 0, yaw = 0;
      for (let j = i; j < i + stride; j++) {
        d += Math.hypot(p[j + 1].x - p[j].x, p[j + 1].y - p[j].y);
        yaw += wrapAngle(p[j + 1].yaw - p[j].yaw);
      }
      cols[0].push(d / time);
      cols[1].push(yaw / time);
    }
  }
  if (cols[0].length === 0) throw new Error(`no training window of ${stride} frames to bound the planner's controls`);
  return quantileBox(cols);
}

/** One frame of the agent's motion without walls: turn by ω·dt, then move v·dt along the new heading (as move() does). */
function unicycleStep(p: Pose, v: number, w: number): Pose {
  const yaw = wrapAngle(p.yaw + w / FPS);
  return { x: p.x + (v / FPS) * Math.cos(yaw), y: p.y + (v / FPS) * Math.sin(yaw), yaw };
}

/** The poses a plan reaches after each action, as the planner imagines them (no walls): controls integrated frame by frame, or actions applied. */
export function planWaypoints(start: Pose, plan: readonly (readonly number[])[], space: PlanSpace, stride: number, scale: ActionScale): Pose[] {
  const out: Pose[] = [];
  let p = start;
  for (const a of plan) {
    if (space === 'actions') p = applyAction(p, a, scale);
    else for (let f = 0; f < stride; f++) p = unicycleStep(p, a[0], a[1]);
    out.push(p);
  }
  return out;
}

/**
 * Score plans by their imagined waypoints [S][L] from `start`: the end frame is predicted in chunks of
 * as many actions as fit in the trained offset (one call when L·stride ≤ maxOffset; otherwise the
 * window slides by each chunk's predicted frame), every candidate from the same noise. → cosine
 * distance of the final predicted latent to the goal (lower is better).
 */
export function scorePlans(m: NavModel, context: readonly Float32Array[], goal: Float32Array, start: Pose, waypoints: readonly (readonly Pose[])[], stride: number, o: PredictOptions & { zeroAction?: boolean }): number[] {
  const L = waypoints[0].length;
  const chunk = Math.max(1, Math.floor(m.info.maxOffset / stride));
  const windows = waypoints.map(() => [...context]);
  let from = waypoints.map(() => start);
  let last: Float32Array[] = [];
  for (let l0 = 0; l0 < L; l0 += chunk) {
    const l1 = Math.min(L, l0 + chunk);
    const actions = waypoints.map((w, r) => (o.zeroAction ? [0, 0, 0] : actionBetween(from[r], w[l1 - 1], m.info.scale)));
    const cond = navCondition(m, windows, actions, waypoints.map(() => (l1 - l0) * stride));
    try {
      const z = predictLatents(m, cond, { ...o, sharedNoise: true });
      const d = z.dataSync() as Float32Array;
      z.dispose();
      const fs = d.length / waypoints.length;
      last = waypoints.map((_, r) => d.slice(r * fs, (r + 1) * fs));
    } finally {
      for (const t of Object.values(cond)) t?.dispose();
    }
    windows.forEach((w, r) => { w.shift(); w.push(last[r]); });
    from = waypoints.map((w) => w[l1 - 1]);
  }
  return last.map((z) => 1 - cosine(z, goal));
}

/**
 * Plan L actions from `start` toward `goal` (standardised latent, flat) given `context` (n latents).
 * → the plan ([L][2] controls or [L][3] actions), its imagined waypoints and the best draw's cost.
 */
export function planActions(m: NavModel, context: readonly Float32Array[], goal: Float32Array, start: Pose, o: PlanOptions): { plan: number[][]; waypoints: Pose[]; score: number } {
  const rng = new Rng(o.seed);
  const space = o.space ?? 'controls';
  if (space === 'controls' && !o.box) throw new Error('planning over controls needs their box (trainingControlBox)');
  const { lo, hi } = o.box ?? FULL_ACTION_BOX;
  const range = lo.map((_, j) => j);
  const clip = (v: number, j: number) => Math.max(lo[j], Math.min(hi[j], v));
  let mean = Array.from({ length: o.horizon }, () => range.map((j) => (lo[j] + hi[j]) / 2));
  let std = Array.from({ length: o.horizon }, () => range.map((j) => INIT_STD[space][j] * (hi[j] - lo[j]) / 2));
  const draw = () => mean.map((mu, l) => mu.map((v, j) => clip(v + std[l][j] * rng.normal(), j)));
  const ways = (plans: number[][][]) => plans.map((p) => planWaypoints(start, p, space, o.stride, m.info.scale));
  let best = { plan: mean, score: Infinity };
  const iters = o.method === 'cem' ? o.iterations : 1;
  const perIter = o.method === 'cem' ? o.samples : o.samples * o.iterations;
  for (let it = 0; it < iters; it++) {
    const plans = Array.from({ length: perIter }, draw);
    const scores = scorePlans(m, context, goal, start, ways(plans), o.stride, o);
    const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
    if (order[0][0] < best.score) best = { plan: plans[order[0][1]], score: order[0][0] };
    const elites = order.slice(0, Math.max(1, o.elites)).map(([, i]) => plans[i]);
    mean = mean.map((_, l) => range.map((j) => elites.reduce((s, e) => s + e[l][j], 0) / elites.length));
    // floor: 2.5 % of the box's width, so a collapsed population keeps exploring
    std = std.map((_, l) => range.map((j) => Math.max(0.025 * (hi[j] - lo[j]), Math.sqrt(elites.reduce((s, e) => s + (e[l][j] - mean[l][j]) ** 2, 0) / elites.length))));
  }
  // CEM executes the mean of its last elites (as in PlaNet / PETS), not the single best-scoring draw:
  // the best score among many draws is the one the model overrates most (the winner's curse)
  const plan = o.method === 'cem' && (o.pick ?? 'mean') === 'mean' ? mean : best.plan;
  return { plan, waypoints: ways([plan])[0], score: best.score };
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

/** Execute controls [speed, yaw rate] in the simulator from `start`, each held for `stride` frames (with collisions, as the agent walks). → poses after each action. */
export function executeControls(map: GridMap, start: Pose, controls: readonly (readonly number[])[], stride: number): Pose[] {
  const out: Pose[] = [];
  let p = start;
  for (const [v, w] of controls) {
    for (let f = 0; f < stride; f++) p = move(map, p, v / FPS, 0, w / FPS);
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
