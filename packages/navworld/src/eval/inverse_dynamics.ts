/**
 * Action adherence: an inverse-dynamics probe. Linear probes (core's LinearProbe) trained on real
 * latent pairs of the training trajectories — (frame i, frame i + k, k) → the action between them —
 * classify each action component (forward dx, lateral dy, turn dyaw) into terciles of its training
 * distribution (chance ≈ 1/3). Applied to (last context frame, predicted frame), their accuracy
 * says whether a prediction shows the motion it was asked for: real pairs give the ceiling, a model
 * that ignores its action scores like copy-last.
 *
 * Features keep the horizontal layout, where turning and lateral motion show: each frame's latent is
 * averaged over rows to [gw, C] and the two are concatenated. The offset k is left out on purpose:
 * it alone predicts how far the agent went, and the probe must read the motion from the frames.
 */
import { tf, LinearProbe, Rng } from '@raev2/core';
import { actionBetween, type ActionScale } from '../actions.js';
import { tokensPerFrame, type LatentWorld } from '../data/latents.js';

export const ACTION_COMPONENTS = ['dx', 'dy', 'dyaw'] as const;

export interface InverseDynamicsProbe {
  /** One probe per action component. */
  probes: LinearProbe[];
  /** Tercile edges [lo, hi] per component (class 0 below lo, 2 above hi). */
  edges: [number, number][];
  /** Accuracy of each probe on its training pairs. */
  trainAccuracy: number[];
  grid: [number, number];
  channels: number;
  dispose(): void;
}

/** Row-averaged latents of frames a and b ([gh·gw·C] each, row-major tokens) → one feature row [2·gw·C]. */
export function pairFeatures(a: ArrayLike<number>, b: ArrayLike<number>, grid: [number, number], channels: number): Float32Array {
  const [gh, gw] = grid;
  const out = new Float32Array(2 * gw * channels);
  [a, b].forEach((z, f) => {
    for (let r = 0; r < gh; r++) for (let c = 0; c < gw; c++) for (let ch = 0; ch < channels; ch++) out[f * gw * channels + c * channels + ch] += z[(r * gw + c) * channels + ch] / gh;
  });
  return out;
}

/** Class of value v under tercile edges. */
const classOf = (v: number, [lo, hi]: [number, number]) => (v < lo ? 0 : v > hi ? 2 : 1);

/** Fit the probes on up to `pairs` seeded real pairs (i, i + k), k ~ U{1..maxOffset}, of the training split. */
export function fitInverseDynamics(world: LatentWorld, scale: ActionScale, opts: { maxOffset: number; pairs?: number; seed?: number; steps?: number }): InverseDynamicsProbe {
  const fs = tokensPerFrame(world) * world.channels;
  const rng = new Rng(opts.seed ?? 0);
  const rows: Float32Array[] = [];
  const actions: number[][] = [];
  const all: { t: number; i: number; k: number }[] = [];
  world.trajectories.forEach((traj, t) => {
    if (traj.split !== 'train') return;
    for (let i = 0; i < traj.poses.length; i++) for (let k = 1; k <= opts.maxOffset && i + k < traj.poses.length; k++) all.push({ t, i, k });
  });
  if (all.length === 0) throw new Error('inverse-dynamics probe: no training pairs in the latent world');
  for (const j of rng.permutation(all.length).slice(0, opts.pairs ?? 6000)) {
    const { t, i, k } = all[j];
    const traj = world.trajectories[t];
    rows.push(pairFeatures(traj.latents.subarray(i * fs, (i + 1) * fs), traj.latents.subarray((i + k) * fs, (i + k + 1) * fs), world.grid, world.channels));
    actions.push(actionBetween(traj.poses[i], traj.poses[i + k], scale));
  }
  const edges = ACTION_COMPONENTS.map((_, c) => {
    const v = actions.map((a) => a[c]).sort((x, y) => x - y);
    return [v[Math.floor(v.length / 3)], v[Math.floor((2 * v.length) / 3)]] as [number, number];
  });
  const x = featureTensor(rows);
  const probes: LinearProbe[] = [];
  const trainAccuracy: number[] = [];
  try {
    ACTION_COMPONENTS.forEach((_, c) => {
      const r = LinearProbe.train(x, actions.map((a) => classOf(a[c], edges[c])), 3, { steps: opts.steps ?? 300 });
      probes.push(r.probe);
      trainAccuracy.push(r.trainAccuracy);
    });
  } finally {
    x.dispose();
  }
  return { probes, edges, trainAccuracy, grid: world.grid, channels: world.channels, dispose: () => probes.forEach((p) => p.dispose()) };
}

/**
 * Mean accuracy over the action components of the probes on (from, to) pairs whose true actions are
 * `actions` (normalised, as actionBetween); also each component's accuracy.
 */
export function actionAccuracy(p: InverseDynamicsProbe, from: readonly ArrayLike<number>[], to: readonly ArrayLike<number>[], actions: readonly (readonly number[])[]): { mean: number; byComponent: number[] } {
  const x = featureTensor(from.map((a, r) => pairFeatures(a, to[r], p.grid, p.channels)));
  try {
    const byComponent = p.probes.map((probe, c) => probe.accuracy(x, actions.map((a) => classOf(a[c], p.edges[c]))));
    return { mean: byComponent.reduce((s, v) => s + v, 0) / byComponent.length, byComponent };
  } finally {
    x.dispose();
  }
}

function featureTensor(rows: readonly Float32Array[]): tf.Tensor2D {
  const d = rows[0].length;
  const flat = new Float32Array(rows.length * d);
  rows.forEach((r, i) => flat.set(r, i * d));
  return tf.tensor2d(flat, [rows.length, d]);
}
