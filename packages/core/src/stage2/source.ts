/**
 * What the generic stage-2 loop trains on (docs/method.md §2.2, condition dropout; §3, §4 for the task conditions): standardised target
 * latents with their conditions, and the provider's null condition (CFG dropout and guidance).
 * Class labels are one provider (`classLatents`); t2i (text tokens + mask) and navworld (frames,
 * action, offset) supply their own.
 */
import { tf, type Tensor } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import type { Condition } from '../dit/condition.js';
import type { ConditionConfig } from '../dit/condition_kinds.js';

/** Standardised target latents and their conditions. */
export interface ConditionedLatents {
  /** Training examples (the epoch sampler's range [0, size)). */
  size: number;
  /** The DiT condition config this source needs (`{kind: 'class', numClasses}`, `{kind: 'tokens', dim}`, a task's kind). */
  condition: ConditionConfig;
  /** Latent grid [h, w] and channels C: x is [B, h·w, C]. */
  grid: [number, number];
  channels: number;
  /** Examples at `idx`: x [B, N, C] standardised latents and their condition (the caller disposes both). `rng` is the step's generator (augmentation, random context). */
  batch(idx: number[], rng: Rng): { x: Tensor; cond: Condition };
  /** The null condition for B rows (CFG dropout, guidance); the caller disposes it. */
  nullCondition(batch: number): Condition;
}

/** A class-label condition {labels [B] int32} from numbers. */
export function labelCondition(labels: ArrayLike<number>): Condition {
  return { labels: tf.tensor1d(Array.from(labels), 'int32') };
}

/** The null-class condition (labels = numClasses) for B rows. */
export function nullClassCondition(numClasses: number, batch: number): Condition {
  return { labels: tf.fill([batch], numClasses, 'int32') };
}

/**
 * The class-label provider: `latents(idx)` → [B, N, C] and `labels[i]` ∈ [0, numClasses);
 * the null condition is the null class (index numClasses).
 */
export function classLatents(o: {
  size: number;
  numClasses: number;
  grid: [number, number];
  channels: number;
  labels: ArrayLike<number>;
  latents: (idx: number[]) => Tensor;
}): ConditionedLatents {
  if (o.labels.length !== o.size) throw new Error(`classLatents: ${o.labels.length} labels for ${o.size} examples`);
  return {
    size: o.size,
    condition: { kind: 'class', numClasses: o.numClasses },
    grid: o.grid,
    channels: o.channels,
    batch: (idx) => ({ x: o.latents(idx), cond: labelCondition(idx.map((i) => o.labels[i])) }),
    nullCondition: (b) => nullClassCondition(o.numClasses, b),
  };
}
