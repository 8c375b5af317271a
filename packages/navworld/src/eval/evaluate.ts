/**
 * `navworld eval` as a function: on held-out maps and held-out trajectories, single-step prediction
 * at k ∈ horizons and autoregressive rollouts, scored per horizon (latent cosine / MSE, PSNR, SSIM,
 * latent FD; clip-level FD proxy for rollouts) for the trained model and, in the same run, the
 * baselines copy-last-frame, an untrained model of the same config and the model with its actions
 * zeroed (and `recon`, the decoder applied to the true target latent: the ceiling of decoded
 * predictions); action adherence by an inverse-dynamics probe trained on real latent pairs
 * (eval/inverse_dynamics.ts); plus counterfactual turns (left / straight / right from one context)
 * against the simulator's true frames.
 */
import { tf, Rng, type RAE, type Tensor } from '@raev2/core';
import { actionBetween } from '../actions.js';
import { tokensPerFrame, type LatentTrajectory, type LatentWorld } from '../data/latents.js';
import { move } from '../world/motion.js';
import type { Pose } from '../world/pose.js';
import type { Split } from '../world/dataset.js';
import { navCondition, predictLatents, rollout, type PredictOptions } from '../model/rollout.js';
import { untrainedLike, type NavModel } from '../model/load.js';
import { Simulator } from './frames.js';
import { clipFD, cosine, scoreHorizon, type HorizonScore } from './metrics.js';
import { ACTION_COMPONENTS, actionAccuracy, fitInverseDynamics } from './inverse_dynamics.js';
import { turnStrip } from '../report/turns.js';
import { TURN_ACTIONS, turnScores, turnYaws, type TurnScores } from './turns.js';

export const METHODS = ['model', 'no-action', 'untrained', 'copy-last', 'recon'] as const;
export type Method = (typeof METHODS)[number];

export interface EvalOptions extends PredictOptions {
  splits: Split[];
  /** Single-step examples per split. */
  samples: number;
  horizons: number[];
  /** Rollout clips per split and their length. */
  clips: number;
  rolloutSteps: number;
  /** Rollout steps scored (≤ rolloutSteps). */
  rolloutHorizons: number[];
  /** Frames per rollout call (default the model's largest offset; 1 = frame by frame, also reported). */
  block?: number;
  /** Contexts for counterfactual turns. */
  turns: number;
  /** Yaw of the counterfactual turns over 0.5 s, radians (default TURN_YAW). */
  turnYaw?: number;
  seed: number;
  onProgress?: (what: string) => void;
}

/** Rollout rows: the model in blocks (its default), frame by frame (block 1), without actions, copy-last. */
export const ROLLOUT_METHODS = ['model', 'frame-by-frame', 'no-action', 'copy-last'] as const;
export type RolloutMethod = (typeof ROLLOUT_METHODS)[number];

export interface SplitResult {
  singleStep: Record<string, Record<Method, HorizonScore>>;
  rollout: Record<string, Record<RolloutMethod, HorizonScore>>;
  clipFD: Record<RolloutMethod, number>;
}

export interface TurnResult extends TurnScores {
  /** PSNR of decoded predictions against the true frame of the same action. */
  psnr: number[];
  actions: string[];
  /** The turn's yaw (rad over 0.5 s) and how many contexts were scored. */
  yaw: number;
  contexts: number;
}

/**
 * Default counterfactual turn: 1 rad in 0.5 s (while walking 0.4 m). The training walks turn more
 * than this in 14 % of their 0.5-s windows (|Δyaw| over 2 frames: median 0.41, 90th percentile
 * 1.10 rad), so it is an action the model was trained on, and large enough to see in a 96-px frame.
 */
export const TURN_YAW = 1;

export interface EvalResult {
  splits: Partial<Record<Split, SplitResult>>;
  turns: TurnResult;
  /** The inverse-dynamics probe: tercile classes per action component, accuracy on its training pairs. */
  inverseDynamics: { components: string[]; trainAccuracy: number[] };
  /**
   * For the report: counterfactual turns' decoded frames [N, H, W, 3] of the first contexts, per
   * context the predictions for each action then the simulator's true frames (`cols` images, one row
   * of the strip), with a label per image. The caller disposes `images`.
   */
  turnStrip?: { images: Tensor; labels: string[]; cols: number };
  /** For the report: a few rollouts' decoded frames [T, H, W, 3] (pred, true) per split. */
  examples: { split: Split; pred: Tensor; real: Tensor; poses: Pose[]; map: number }[];
}

const frameOf = (t: LatentTrajectory, i: number, fs: number) => t.latents.slice(i * fs, (i + 1) * fs);

/** Seeded examples (traj, i) of a split with n − 1 ≤ i and i + span < T. */
export function pickExamples(world: LatentWorld, split: Split, n: number, span: number, count: number, rng: Rng): { traj: LatentTrajectory; i: number }[] {
  const all: { traj: LatentTrajectory; i: number }[] = [];
  for (const traj of world.trajectories) if (traj.split === split) for (let i = n - 1; i + span < traj.poses.length; i++) all.push({ traj, i });
  if (all.length === 0) throw new Error(`split ${split}: no trajectory long enough for ${n} context frames + ${span} ahead`);
  return rng.permutation(all.length).slice(0, Math.min(count, all.length)).map((j) => all[j]);
}

function decode(rae: RAE, latents: readonly Float32Array[], grid: [number, number], channels: number): Tensor {
  return tf.tidy(() => rae.decode(tf.tensor3d(concat(latents), [latents.length, grid[0] * grid[1], channels])));
}

function concat(xs: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((s, x) => s + x.length, 0));
  let o = 0;
  for (const x of xs) { out.set(x, o); o += x.length; }
  return out;
}

function toHost(t: Tensor): Float32Array[] {
  const d = t.dataSync() as Float32Array, b = t.shape[0] as number, s = d.length / b;
  return Array.from({ length: b }, (_, r) => d.slice(r * s, (r + 1) * s));
}

/** Evaluate a trained model (and its baselines) on a latent world; `rae` decodes latents to frames. */
export async function evaluateNavWorld(m: NavModel, world: LatentWorld, rae: RAE, o: EvalOptions): Promise<EvalResult> {
  const sim = new Simulator(m.info.world);
  const n = m.info.condition.contextFrames;
  const fs = tokensPerFrame(world) * world.channels;
  const C = world.channels;
  const untrained = untrainedLike(m);
  const pred = (model: NavModel, ctx: Float32Array[][], actions: number[][], ks: number[], seed: number) => {
    const cond = navCondition(model, ctx, actions, ks);
    try {
      const z = predictLatents(model, cond, { ...o, seed });
      const out = toHost(z);
      z.dispose();
      return out;
    } finally {
      for (const t of Object.values(cond)) t?.dispose();
    }
  };
  const imagesOf = (zs: Float32Array[]) => decode(rae, zs, world.grid, C);
  o.onProgress?.('inverse-dynamics probe on real training pairs');
  const idProbe = fitInverseDynamics(world, m.info.scale, { maxOffset: m.info.maxOffset, seed: o.seed });
  const result: EvalResult = { splits: {}, turns: { cosine: [], accuracy: NaN, leftRight: NaN, psnr: [], actions: [], yaw: NaN, contexts: 0 }, inverseDynamics: { components: [...ACTION_COMPONENTS], trainAccuracy: idProbe.trainAccuracy }, examples: [] };
  try {
    for (const split of o.splits) {
      const rng = new Rng(o.seed + split.length);
      const kmax = Math.max(...o.horizons);
      const ex = pickExamples(world, split, n, kmax, o.samples, rng);
      const ctx = ex.map(({ traj, i }) => Array.from({ length: n }, (_, j) => frameOf(traj, i - n + 1 + j, fs)));
      const singleStep: SplitResult['singleStep'] = {};
      for (const k of o.horizons) {
        o.onProgress?.(`${split}: single-step k = ${k}`);
        const real = ex.map(({ traj, i }) => frameOf(traj, i + k, fs));
        const actions = ex.map(({ traj, i }) => actionBetween(traj.poses[i], traj.poses[i + k], m.info.scale));
        const ks = ex.map(() => k);
        const realImg = await sim.images(ex.map(({ traj, i }) => ({ map: traj.map, pose: traj.poses[i + k] })));
        const lastImg = await sim.images(ex.map(({ traj, i }) => ({ map: traj.map, pose: traj.poses[i] })));
        const byMethod = {} as Record<Method, HorizonScore>;
        for (const method of METHODS) {
          let zs: Float32Array[];
          if (method === 'copy-last') zs = ctx.map((c) => c[n - 1]);
          else if (method === 'recon') zs = real;
          else zs = pred(method === 'untrained' ? untrained : m, ctx, method === 'no-action' ? actions.map(() => [0, 0, 0]) : actions, ks, o.seed + k);
          // copy-last copies the true last frame's pixels; the models' latents go through the decoder
          const img = method === 'copy-last' ? lastImg.clone() : imagesOf(zs);
          byMethod[method] = scoreHorizon(zs, real, C, { pred: img, real: realImg });
          byMethod[method].actionAcc = actionAccuracy(idProbe, ctx.map((c) => c[n - 1]), zs, actions).mean;
          img.dispose();
        }
        tf.dispose([realImg, lastImg]);
        singleStep[String(k)] = byMethod;
      }
      // rollouts
      o.onProgress?.(`${split}: rollouts of ${o.rolloutSteps} steps`);
      const clips = pickExamples(world, split, n, o.rolloutSteps, o.clips, rng);
      const cctx = clips.map(({ traj, i }) => Array.from({ length: n }, (_, j) => frameOf(traj, i - n + 1 + j, fs)));
      const cposes = clips.map(({ traj, i }) => traj.poses.slice(i, i + o.rolloutSteps + 1));
      const realClips = clips.map(({ traj, i }) => Array.from({ length: o.rolloutSteps }, (_, h) => frameOf(traj, i + 1 + h, fs)));
      const quiet = () => {};
      const rolled = {
        model: rollout(m, cctx, cposes, { ...o, seed: o.seed, warn: quiet }),
        'frame-by-frame': rollout(m, cctx, cposes, { ...o, seed: o.seed, block: 1, warn: quiet }),
        'no-action': rollout(m, cctx, cposes, { ...o, seed: o.seed, zeroAction: true, warn: quiet }),
        'copy-last': cctx.map((c) => Array.from({ length: o.rolloutSteps }, () => c[n - 1])),
      };
      const rolloutScores: SplitResult['rollout'] = {};
      for (const h of o.rolloutHorizons) {
        const realImg = await sim.images(clips.map(({ traj, i }) => ({ map: traj.map, pose: traj.poses[i + h] })));
        const lastImg = await sim.images(clips.map(({ traj, i }) => ({ map: traj.map, pose: traj.poses[i] })));
        const row = {} as Record<RolloutMethod, HorizonScore>;
        for (const method of ROLLOUT_METHODS) {
          const zs = rolled[method].map((c) => c[h - 1]);
          const img = method === 'copy-last' ? lastImg.clone() : imagesOf(zs);
          row[method] = scoreHorizon(zs, realClips.map((c) => c[h - 1]), C, { pred: img, real: realImg });
          img.dispose();
        }
        tf.dispose([realImg, lastImg]);
        rolloutScores[String(h)] = row;
      }
      const cfd = {} as Record<RolloutMethod, number>;
      for (const method of ROLLOUT_METHODS) cfd[method] = clipFD(rolled[method], realClips, C);
      result.splits[split] = { singleStep, rollout: rolloutScores, clipFD: cfd };
      // one decoded rollout per split for the report
      result.examples.push({
        split,
        pred: imagesOf(rolled.model[0]),
        real: await sim.images(cposes[0].slice(1).map((pose) => ({ map: clips[0].traj.map, pose }))),
        poses: cposes[0],
        map: clips[0].traj.map,
      });
    }
    // counterfactual turns from held-out contexts: left / straight / right for 2 frames (0.5 s)
    o.onProgress?.('counterfactual turns');
    const turnSplit = o.splits.includes('heldout-map') ? 'heldout-map' : o.splits[0];
    const tex = pickExamples(world, turnSplit, n, 1, o.turns, new Rng(o.seed + 99));
    const names = [...TURN_ACTIONS];
    const yaw = o.turnYaw ?? TURN_YAW;
    const turnsBy = turnYaws(yaw);
    const step = m.info.scale.metricStep;
    const targets = turnsBy.map((dyaw) => tex.map(({ traj, i }) => move(sim.map(traj.map), traj.poses[i], 2 * step, 0, dyaw)));
    const tctx = tex.map(({ traj, i }) => Array.from({ length: n }, (_, j) => frameOf(traj, i - n + 1 + j, fs)));
    const predicted = turnsBy.map((_, a) => pred(m, tctx, tex.map(({ traj, i }, r) => actionBetween(traj.poses[i], targets[a][r], m.info.scale)), tex.map(() => 2), o.seed + 7));
    const trueLat: Float32Array[][] = [];
    const trueImg: Tensor[] = [];
    for (let b = 0; b < 3; b++) {
      const img = await sim.images(tex.map(({ traj }, r) => ({ map: traj.map, pose: targets[b][r] })));
      trueImg.push(img);
      const z = tf.tidy(() => rae.encode(img, { noise: false }));
      trueLat.push(toHost(z));
      z.dispose();
    }
    const scores = turnScores(tex.map((_, r) => predicted.map((p) => trueLat.map((t) => cosine(p[r], t[r])))));
    const shown = Math.min(4, tex.length);
    const predShown: Tensor[] = [];
    const psnrs = predicted.map((p, a) => {
      const img = imagesOf(p);
      const s = scoreHorizon(p, trueLat[a], C, { pred: img, real: trueImg[a] }).psnr ?? NaN;
      predShown.push(img.slice(0, shown));
      img.dispose();
      return s;
    });
    result.turnStrip = turnStrip(predShown, trueImg, names, shown);
    tf.dispose([...trueImg, ...predShown]);
    result.turns = { ...scores, psnr: psnrs, actions: names, yaw, contexts: tex.length };
    return result;
  } finally {
    untrained.dit.dispose();
    idProbe.dispose();
  }
}
