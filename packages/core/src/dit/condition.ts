/**
 * Conditions of the denoiser and the RAEv2 condition embedder (`ctx_embedder`): class labels
 * (learned tokens + label embedding, null class = numClasses) or a token sequence [B, L, D_c]
 * (RMSNorm + Linear to D, e.g. text features) with a keep-mask [B, L] whose zeros become an
 * additive attention mask on those key columns.
 */
import { tf, type Tensor } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { RMSNorm } from '../nn/norm.js';
import { LabelEmbedder, toLabelTensor } from '../nn/label_embed.js';
import { keyPaddingMask } from '../nn/attention.js';

/** What the denoiser is conditioned on. Every field is batch-first. */
export interface Condition {
  /** Class labels [B] (int32); index numClasses is the null class. */
  labels?: Tensor;
  /** Condition tokens [B, L, D_c] (projected to D by the model). */
  tokens?: Tensor;
  /** Keep-mask [B, L] for `tokens` (1 keep, 0 padding). */
  mask?: Tensor;
}

const KEYS = ['labels', 'tokens', 'mask'] as const;

/** [a; b] along the batch: the doubled batch of CFG. A missing mask on one side counts as all-ones. */
export function concatConditions(a: Condition, b: Condition): Condition {
  return tf.tidy(() => {
    const out: Condition = {};
    for (const k of KEYS) {
      let x = a[k], y = b[k];
      if (x == null && y == null) continue;
      if (k === 'mask' && a.tokens && b.tokens) {
        x ??= tf.ones(a.tokens.shape.slice(0, 2));
        y ??= tf.ones(b.tokens.shape.slice(0, 2));
      }
      if (x == null || y == null) throw new Error(`cannot batch conditions: "${k}" is given on one side only`);
      if (k === 'labels') [x, y] = [toLabelTensor(x), toLabelTensor(y)];
      if (k === 'tokens' && x.shape[1] !== y.shape[1]) throw new Error(`cannot batch condition tokens of lengths ${x.shape[1]} and ${y.shape[1]} (pad them to one length)`);
      out[k] = tf.concat([x, y.dtype === x.dtype ? y : y.cast(x.dtype)], 0);
    }
    return out as Record<string, Tensor>;
  }) as Condition;
}

/** Rows [begin, begin + size) of every field. */
export function sliceCondition(c: Condition, begin: number, size: number): Condition {
  const out: Condition = {};
  for (const k of KEYS) {
    const x = c[k];
    if (x != null) out[k] = tf.tidy(() => x.slice([begin, ...x.shape.slice(1).map(() => 0)], [size, ...x.shape.slice(1).map(() => -1)]));
  }
  return out;
}

/** Dispose every tensor of a condition. */
export function disposeCondition(c: Condition): void {
  for (const k of KEYS) c[k]?.dispose();
}

/** Batch size of a condition (0 when empty). */
export function conditionBatch(c: Condition): number {
  return (c.labels ?? c.tokens)?.shape[0] ?? 0;
}

/** Projects raw condition tokens: `norm` RMSNorm(D_c) then `proj` Linear(D_c → D) (RAEv2 text conditioning). */
export class TokenConditionEmbedder extends Module {
  readonly norm: RMSNorm;
  readonly proj: Linear;
  constructor(readonly contextDim: number, readonly dim: number, rng?: Rng) {
    super();
    this.norm = this.child('norm', new RMSNorm(contextDim));
    this.proj = this.child('proj', new Linear(contextDim, dim, { rng }));
  }
  /** [B, L, D_c] → [B, L, D] */
  forward(tokens: Tensor): Tensor {
    return tf.tidy(() => this.proj.forward(this.norm.forward(tokens)));
  }
}

/** The in-context condition tokens [B, L_c, D] for a condition. */
export function embedCondition(embedder: LabelEmbedder | TokenConditionEmbedder, cond: Condition): Tensor {
  if (embedder instanceof LabelEmbedder) {
    if (cond.labels == null) throw new Error('this model is label-conditioned: pass cond.labels [B]');
    return embedder.tokens(cond.labels);
  }
  if (cond.tokens == null) throw new Error('this model is token-conditioned: pass cond.tokens [B, L, D_c] (and cond.mask [B, L])');
  if (cond.tokens.shape[2] !== embedder.contextDim) throw new Error(`condition tokens have width ${cond.tokens.shape[2]}, the model expects ${embedder.contextDim}`);
  return embedder.forward(cond.tokens);
}

/**
 * Additive attention mask [B, 1, 1, N] for a sequence whose last L columns are the masked
 * condition tokens (mask [B, L]); null when there is no mask.
 */
export function sequenceMask(seqLen: number, mask: Tensor | undefined): Tensor | null {
  if (mask == null) return null;
  return tf.tidy(() => {
    const [b, l] = mask.shape;
    const keep = tf.concat([tf.ones([b, seqLen - l]), mask.toFloat()], 1);
    return keyPaddingMask(keep);
  });
}
