/**
 * The navigation training source (a core `ConditionedLatents`): examples are (trajectory, i) with
 * i the last of n context frames; a batch draws k ~ U{1..K} per example and returns the target
 * latent x = z_{i+k} [B, N, C] with the condition {frames: z_{i−n+1..i} [B, n·N, C], action [B, 3]
 * (pose i+k relative to pose i), offset k/128 [B]}. The null condition is zeros everywhere.
 */
import { tf, type Rng, type Tensor } from '@raev2/core';
import { actionBetween, timeOffsetValue, type ActionScale } from '../actions.js';
import { nullNavigationCondition, type NavigationCondition, type NavigationConditionConfig } from '../condition/embedder.js';
import { tokensPerFrame, type LatentTrajectory, type LatentWorld } from './latents.js';
import type { Split } from '../world/dataset.js';

export interface NavigationSourceOptions {
  splits: Split[];
  condition: NavigationConditionConfig;
  scale: ActionScale;
  /** Largest time offset K (default 8). */
  maxOffset?: number;
}

/** One example's parts as host arrays (what batches and evaluations stack). */
export interface NavExample {
  traj: LatentTrajectory;
  /** Index of the last context frame. */
  i: number;
  k: number;
}

export class NavigationSource {
  readonly examples: { traj: LatentTrajectory; i: number }[] = [];
  readonly maxOffset: number;
  readonly condition: NavigationConditionConfig;
  readonly scale: ActionScale;
  private readonly n: number;
  private readonly tokens: number;
  private readonly channels: number;

  constructor(readonly world: LatentWorld, opts: NavigationSourceOptions) {
    this.maxOffset = opts.maxOffset ?? 8;
    this.condition = opts.condition;
    this.scale = opts.scale;
    this.n = opts.condition.contextFrames;
    this.tokens = tokensPerFrame(world);
    this.channels = world.channels;
    if (opts.condition.tokensPerFrame !== this.tokens || opts.condition.channels !== this.channels) {
      throw new Error(`navigation condition expects ${opts.condition.tokensPerFrame}×${opts.condition.channels} latents, the world has ${this.tokens}×${this.channels}`);
    }
    for (const traj of world.trajectories) {
      if (!opts.splits.includes(traj.split)) continue;
      const T = traj.poses.length;
      if (T < this.n + 1) throw new Error(`trajectory ${traj.name}: ${T} frames, shorter than the ${this.n} context frames + 1 target`);
      for (let i = this.n - 1; i + 1 < T; i++) this.examples.push({ traj, i });
    }
    if (this.examples.length === 0) throw new Error(`no trajectories in split(s) ${opts.splits.join(', ')}`);
  }

  /** Training examples (the epoch sampler's range). */
  get size(): number {
    return this.examples.length;
  }

  /** Stack explicit examples: x [B, N, C] and the condition (actions taken from the true poses). */
  stack(items: readonly NavExample[], opts: { zeroAction?: boolean } = {}): { x: Tensor; cond: NavigationCondition } {
    const fs = this.tokens * this.channels;
    const b = items.length;
    const x = new Float32Array(b * fs), frames = new Float32Array(b * this.n * fs), action = new Float32Array(b * 3), offset = new Float32Array(b);
    items.forEach(({ traj, i, k }, r) => {
      if (i - this.n + 1 < 0 || i + k >= traj.poses.length) throw new Error(`${traj.name}: example (i ${i}, k ${k}) is outside its ${traj.poses.length} frames`);
      x.set(traj.latents.subarray((i + k) * fs, (i + k + 1) * fs), r * fs);
      frames.set(traj.latents.subarray((i - this.n + 1) * fs, (i + 1) * fs), r * this.n * fs);
      if (!opts.zeroAction) action.set(actionBetween(traj.poses[i], traj.poses[i + k], this.scale), r * 3);
      offset[r] = timeOffsetValue(k);
    });
    return {
      x: tf.tensor3d(x, [b, this.tokens, this.channels]),
      cond: { frames: tf.tensor3d(frames, [b, this.n * this.tokens, this.channels]), action: tf.tensor2d(action, [b, 3]), offset: tf.tensor1d(offset) },
    };
  }

  /** A training batch: k ~ U{1..min(K, frames left)} per example. */
  batch(idx: number[], rng: Rng): { x: Tensor; cond: NavigationCondition } {
    return this.stack(idx.map((e) => {
      const { traj, i } = this.examples[e];
      const kmax = Math.min(this.maxOffset, traj.poses.length - 1 - i);
      return { traj, i, k: 1 + rng.int(kmax) };
    }));
  }

  /** The null condition (zeros) for `batch` rows. */
  nullCondition(batch: number): NavigationCondition {
    return nullNavigationCondition(this.condition, batch);
  }
}
