/** Condition dropout for classifier-free guidance: each sample's condition becomes the null one with probability p (seeded). */
import { tf, type Tensor } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import { toLabelTensor } from '../nn/label_embed.js';
import type { Condition } from '../dit/condition.js';

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

/** Per sample, the condition or the null condition (same shapes), each with probability p of the null one. */
export function dropCondition(cond: Condition, nullCond: Condition, p: number, rng: Rng): Condition {
  const b = (cond.labels ?? cond.tokens)?.shape[0] ?? 0;
  const drop = dropMask(rng, b, p);
  const out: Condition = {};
  for (const k of ['labels', 'tokens', 'mask'] as const) {
    const c = cond[k];
    if (c == null) continue;
    const n = nullCond[k];
    if (n == null) {
      // a null condition without a mask keeps every (null) token
      if (k === 'mask') {
        out.mask = tf.tidy(() => tf.where(tf.tensor1d(drop, 'bool').reshape([b, 1]).tile([1, c.shape[1] as number]), tf.onesLike(c), c));
        continue;
      }
      throw new Error(`dropCondition: the null condition has no "${k}"`);
    }
    const nn = n;
    out[k] = tf.tidy(() => {
      if (nn.shape.join() !== c.shape.join()) throw new Error(`dropCondition: null "${k}" has shape [${nn.shape}], the condition [${c.shape}]`);
      const m = tf.tensor1d(drop, 'bool').reshape([b, ...c.shape.slice(1).map(() => 1)]);
      return tf.where(m.tile([1, ...c.shape.slice(1)]), nn, c);
    });
  }
  return out;
}
