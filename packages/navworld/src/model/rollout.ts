/**
 * Prediction and autoregressive rollouts (docs/method.md, navigation world model). One prediction
 * samples the target latent with core's generateLatents (free guidance by default) from
 * {frames, action, offset}. A rollout slides the context window: append the predictions, drop the
 * oldest frames, and re-express the next waypoints in the frame of the newest (predicted) pose; it
 * predicts a block of frames per call (offsets 1…block), by default as many as the model was trained
 * to look ahead.
 */
import { tf, generateLatents, Rng, type GuidanceConfigInput, type Tensor } from '@raev2/core';
import { actionBetween, timeOffsetValue } from '../actions.js';
import { nullNavigationCondition, type NavigationCondition } from '../condition/embedder.js';
import type { Pose } from '../world/pose.js';
import type { NavModel } from './load.js';

export interface PredictOptions {
  steps?: number;
  guidance?: GuidanceConfigInput;
  seed?: number | Rng;
  batchSize?: number;
  /** One noise draw for every row (common random numbers; planning compares candidates by it). */
  sharedNoise?: boolean;
}

/** Free guidance w = 1.78 on t ∈ [0.1, 1] (the published setting). */
export const DEFAULT_GUIDANCE: GuidanceConfigInput = { method: 'free', freeScale: 1.78, freeInterval: [0.1, 1] };

/** Sample target latents [B, N, C] for a condition (caller keeps `cond`). */
export function predictLatents(m: NavModel, cond: NavigationCondition, o: PredictOptions = {}): Tensor {
  const c = m.info.condition;
  return generateLatents(m.dit, cond, {
    steps: o.steps ?? 12,
    guidance: o.guidance ?? DEFAULT_GUIDANCE,
    nullCondition: (b: number) => nullNavigationCondition(c, b),
    shift: m.info.shift,
    seed: o.seed ?? 0,
    batchSize: o.batchSize ?? 64,
    sharedNoise: o.sharedNoise,
  }).latents;
}

/** A condition from host arrays: context latents (n per row, each N·C), normalised actions, offsets k. */
export function navCondition(m: NavModel, contexts: readonly (readonly Float32Array[])[], actions: readonly (readonly number[])[], ks: readonly number[]): NavigationCondition {
  const c = m.info.condition;
  const fs = c.tokensPerFrame * c.channels;
  const b = contexts.length;
  const frames = new Float32Array(b * c.contextFrames * fs);
  contexts.forEach((ctx, r) => {
    if (ctx.length !== c.contextFrames) throw new Error(`context of row ${r} has ${ctx.length} frames, the model takes ${c.contextFrames}`);
    ctx.forEach((f, j) => frames.set(f, (r * c.contextFrames + j) * fs));
  });
  return {
    frames: tf.tensor3d(frames, [b, c.contextFrames * c.tokensPerFrame, c.channels]),
    action: tf.tensor2d(actions.flatMap((a) => [a[0], a[1], a[2]]), [b, 3]),
    offset: tf.tensor1d(ks.map(timeOffsetValue)),
  };
}

export interface RolloutOptions extends PredictOptions {
  /** Zero the actions (the no-action baseline). */
  zeroAction?: boolean;
  /**
   * Frames predicted per model call (1 ≤ block ≤ the trained offset; default the trained offset).
   * Each call predicts the next `block` frames directly from the current window (offsets k = 1…block,
   * actions to each waypoint from the window's newest pose), then the window slides by the block:
   * 16 frames take 16 / block autoregressive calls, so errors compound over fewer steps
   * (docs/navworld.md: latent FD at step 16 55 → 13 on held-out maps). `block: 1` is the
   * frame-by-frame rollout.
   */
  block?: number;
  /** Warn (once) when the horizon exceeds what the model was trained on. */
  warn?: (msg: string) => void;
}

/**
 * Autoregressive rollouts, batched over rows: `contexts[r]` are n context latents (flat N·C),
 * `poses[r]` the pose of the last context frame followed by H waypoints. Each call predicts the next
 * `block` frames (offsets 1…block) with the actions from the window's newest pose to those
 * waypoints. → H predicted latents per row.
 */
export function rollout(m: NavModel, contexts: readonly (readonly Float32Array[])[], poses: readonly (readonly Pose[])[], o: RolloutOptions = {}): Float32Array[][] {
  const H = Math.min(...poses.map((p) => p.length - 1));
  const block = o.block ?? m.info.maxOffset;
  if (!Number.isInteger(block) || block < 1 || block > m.info.maxOffset) throw new Error(`rollout block ${block}: must be an integer in [1, ${m.info.maxOffset}] (the model's largest trained offset)`);
  if (H > m.info.maxOffset) (o.warn ?? ((s: string) => console.warn(s)))(`rollout of ${H} steps is longer than the ${m.info.maxOffset} frames the model was trained to look ahead; it proceeds autoregressively`);
  const rng = typeof o.seed === 'object' ? o.seed : new Rng(o.seed ?? 0);
  const windows = contexts.map((c) => [...c]);
  const out: Float32Array[][] = contexts.map(() => []);
  for (let h = 0; h < H; h += block) {
    const b = Math.min(block, H - h);
    // rows: context r, offset j + 1 (row-major over contexts)
    const rows = windows.flatMap((w, r) => Array.from({ length: b }, (_, j) => ({ w, r, k: j + 1 })));
    const actions = rows.map(({ r, k }) => (o.zeroAction ? [0, 0, 0] : actionBetween(poses[r][h], poses[r][h + k], m.info.scale)));
    const cond = navCondition(m, rows.map(({ w }) => w), actions, rows.map(({ k }) => k));
    let z: Tensor;
    try {
      z = predictLatents(m, cond, { ...o, seed: rng });
    } finally {
      for (const t of Object.values(cond)) t?.dispose();
    }
    const data = z.dataSync() as Float32Array;
    z.dispose();
    const fs = data.length / rows.length;
    windows.forEach((w, r) => {
      for (let j = 0; j < b; j++) {
        const f = data.slice((r * b + j) * fs, (r * b + j + 1) * fs);
        out[r].push(f);
        w.shift();
        w.push(f);
      }
    });
  }
  return out;
}
