/** Condition dropout for classifier-free guidance: each sample's condition becomes the null one with probability p (seeded). */
import { tf, type Tensor } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import { toLabelTensor } from '../nn/label_embed.js';
import { type Condition, conditionBatch, selectCondition } from '../dit/condition.js';

/** Which of B samples to drop (p each), from `rng`. */
export function dropMask(rng: Rng, batch: number, p: number): boolean[] {
  return Array.from({ length: batch }, () => rng.random() < p);
}

/** labels [B] → labels with dropped entries set to `nullClass` (int32). */
export function dropLabels(labels: Tensor | ArrayLike<number>, p: number, nullClass: number, rng: Rng): Tensor {
  return tf.tidy(() => {
    const l = toLabelTensor(labels);
    const drop = dropMask(rng, l.shape[0] as number, p);
    const v = Array.from(l.dataSync());
    return tf.tensor1d(v.map((x, i) => (drop[i] ? nullClass : x)), 'int32');
  });
}

/**
 * Per sample, the condition or the null condition (same fields and row shapes), the null one with
 * probability p (seeded; draws B numbers from `rng`). Generic over the condition's fields.
 */
export function dropCondition(cond: Condition, nullCond: Condition, p: number, rng: Rng): Condition {
  const drop = dropMask(rng, conditionBatch(cond), p);
  return selectCondition(drop.map((d) => !d), cond, nullCond);
}
