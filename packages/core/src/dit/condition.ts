/**
 * What the denoiser is conditioned on: named batch-first tensors (docs/method.md §2.1).
 * Core knows class labels [B] (int32), condition tokens [B, L, D_c] and their keep-mask [B, L]
 * (1 keep, 0 padding); a task package may add its own fields (e.g. frames, actions). Every
 * operation here is generic over the fields, so CFG batching, slicing and condition dropout work
 * for any condition a task defines.
 */
import { tf, type Tensor } from '../runtime/tf.js';
import { keyPaddingMask } from '../nn/attention.js';

/** Named batch-first tensors. `labels` [B] int32, `tokens` [B, L, D_c], `mask` [B, L]; tasks may add fields. */
export type Condition = { labels?: Tensor; tokens?: Tensor; mask?: Tensor; [field: string]: Tensor | undefined };

/** The fields of a condition that hold a tensor, sorted (a stable order for every operation). */
export function conditionFields(c: Condition): string[] {
  return Object.keys(c).filter((k) => c[k] != null).sort();
}

/** A keep-mask of ones [B, L] for a condition that has `tokens` but no `mask`. */
function onesMask(c: Condition): Tensor {
  return tf.ones(c.tokens!.shape.slice(0, 2));
}

/** Both sides' tensor for `field`; a missing `mask` beside `tokens` counts as all-ones (keep every token). */
function pairFor(field: string, a: Condition, b: Condition, what: string): [Tensor, Tensor] {
  let x = a[field], y = b[field];
  if (field === 'mask') {
    if (x == null && a.tokens) x = onesMask(a);
    if (y == null && b.tokens) y = onesMask(b);
  }
  if (x == null || y == null) throw new Error(`cannot ${what} conditions: field "${field}" is given on one side only`);
  if (field === 'labels') {
    if (x.dtype !== 'int32') x = x.toInt();
    if (y.dtype !== 'int32') y = y.toInt();
  }
  const xs = x.shape.slice(1), ys = y.shape.slice(1);
  if (xs.length !== ys.length || xs.some((d, i) => d !== ys[i])) {
    const hint = field === 'tokens' || field === 'mask' ? ' (pad them to one length)' : '';
    throw new Error(`cannot ${what} conditions: "${field}" has row shape [${xs}] on one side and [${ys}] on the other${hint}`);
  }
  return [x, y.dtype === x.dtype ? y : y.cast(x.dtype)];
}

/** [a; b] along the batch, field by field (the doubled batch of CFG). A missing mask beside tokens counts as all-ones. */
export function concatConditions(a: Condition, b: Condition): Condition {
  const fields = [...new Set([...conditionFields(a), ...conditionFields(b)])].sort();
  return tf.tidy(() => {
    const out: Record<string, Tensor> = {};
    for (const k of fields) {
      const [x, y] = pairFor(k, a, b, 'batch');
      out[k] = tf.concat([x, y], 0);
    }
    return out;
  }) as Condition;
}

/** Rows [begin, begin + size) of every field. */
export function sliceCondition(c: Condition, begin: number, size: number): Condition {
  const out: Condition = {};
  for (const k of conditionFields(c)) {
    const x = c[k]!;
    out[k] = tf.tidy(() => x.slice([begin, ...x.shape.slice(1).map(() => 0)], [size, ...x.shape.slice(1).map(() => -1)]));
  }
  return out;
}

/** Dispose every tensor of a condition. */
export function disposeCondition(c: Condition): void {
  for (const k of conditionFields(c)) c[k]!.dispose();
}

/** Batch size B of a condition (0 when it has no field); throws when fields disagree. */
export function conditionBatch(c: Condition): number {
  const fields = conditionFields(c);
  if (fields.length === 0) return 0;
  const b = c[fields[0]]!.shape[0] as number;
  for (const k of fields) {
    if (c[k]!.shape[0] !== b) throw new Error(`condition fields disagree on the batch: "${fields[0]}" has ${b} rows, "${k}" has ${c[k]!.shape[0]}`);
  }
  return b;
}

/**
 * Row-wise choice: row i is `cond`'s when keep[i], else `nullCond`'s (CFG condition dropout).
 * keep: boolean[B] or a bool/0-1 tensor [B]. Both conditions must hold the same fields with the
 * same row shapes (a missing mask beside tokens counts as all-ones). → a new condition.
 */
export function selectCondition(keep: boolean[] | Tensor, cond: Condition, nullCond: Condition): Condition {
  const b = conditionBatch(cond);
  const fields = [...new Set([...conditionFields(cond), ...conditionFields(nullCond)])].sort();
  return tf.tidy(() => {
    const k = Array.isArray(keep) ? tf.tensor1d(keep, 'bool') : keep.dtype === 'bool' ? keep : keep.notEqual(0);
    if (k.shape.length !== 1 || k.shape[0] !== b) throw new Error(`selectCondition: keep has shape [${k.shape}], the condition has ${b} rows`);
    if (conditionBatch(nullCond) !== b) throw new Error(`selectCondition: the null condition has ${conditionBatch(nullCond)} rows, the condition ${b}`);
    const out: Record<string, Tensor> = {};
    for (const f of fields) {
      const [x, n] = pairFor(f, cond, nullCond, 'select between');
      const m = tf.broadcastTo(k.reshape([b, ...x.shape.slice(1).map(() => 1)]), x.shape);
      out[f] = tf.where(m, x, n);
    }
    return out;
  }) as Condition;
}

/**
 * Additive attention mask [B, 1, 1, N] for a sequence whose last L columns are masked
 * condition tokens (keep-mask [B, L]); null when there is no mask.
 */
export function sequenceMask(seqLen: number, mask: Tensor | undefined): Tensor | null {
  if (mask == null) return null;
  return tf.tidy(() => {
    const [b, l] = mask.shape;
    const keep = tf.concat([tf.ones([b, seqLen - l]), mask.toFloat()], 1);
    return keyPaddingMask(keep);
  });
}
