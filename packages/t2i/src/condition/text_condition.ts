/**
 * The text condition of the DiT^DH (docs/t2i.md): the frozen tower's last hidden state for the
 * prompt [L, D] (optionally with the pooled vector appended as one more token) and a keep-mask
 * [L(+1)] that masks the pad positions in the DiT's attention. They enter the DiT through its
 * `tokens` condition kind (RMSNorm + Linear to the DiT width, in context, zero RoPE angles).
 * The null condition is the empty prompt "" encoded by the same tower. Features are computed once
 * per distinct caption and kept on the host (the tower is frozen).
 */
import { z } from 'zod';
import { tf, type Condition } from '@raev2/core';
import type { TextEncoder } from '@raev2/encoders';

export const TextConditionOptionsSchema = z
  .object({
    /** Mask the prompt's pad positions in the DiT's attention (default on: see docs/t2i.md for the measurement). */
    maskPads: z.boolean().default(true),
    /** Append the tower's pooled vector as one extra condition token (needs pooled width = hidden width). */
    keepPooled: z.boolean().default(false),
    /**
     * Keep only the first `maxTokens` positions of the tower's output (null: all). With masked pads
     * this is exact as long as no prompt has more real tokens (attention ignores masked columns,
     * and condition tokens carry no position), and it makes the DiT's sequence shorter.
     */
    maxTokens: z.number().int().positive().nullable().default(null),
  })
  .strict()
  .refine((o) => o.maxTokens == null || o.maskPads, { path: ['maxTokens'], message: 'cutting the tower output is only exact with maskPads (unmasked pads are attended)' });
export type TextConditionOptions = z.infer<typeof TextConditionOptionsSchema>;

/** Host copy of one caption's features. */
interface Entry {
  tokens: Float32Array; // [L', D]
  mask: Float32Array; // [L']
}

/** Caption → condition tokens, cached per distinct caption. */
export class TextConditioner {
  readonly options: TextConditionOptions;
  /** Condition tokens per caption L' = L (+1 with the pooled token). */
  readonly length: number;
  /** Width D_c of the condition tokens (the tower's hidden size). */
  readonly dim: number;
  private readonly cache = new Map<string, Entry>();
  /** Tower positions kept per caption. */
  private readonly kept: number;

  constructor(readonly encoder: TextEncoder, options: z.input<typeof TextConditionOptionsSchema> = {}) {
    this.options = TextConditionOptionsSchema.parse(options);
    if (this.options.keepPooled && encoder.pooledSize !== encoder.hiddenSize) {
      throw new Error(`keepPooled: the tower's pooled width ${encoder.pooledSize} differs from its hidden width ${encoder.hiddenSize}, so the pooled vector cannot be a condition token`);
    }
    this.kept = Math.min(encoder.maxLength, this.options.maxTokens ?? encoder.maxLength);
    this.length = this.kept + (this.options.keepPooled ? 1 : 0);
    this.dim = encoder.hiddenSize;
  }

  /** Encode (in batches) every caption not cached yet. */
  prepare(captions: readonly string[], batch = 64): void {
    const todo = [...new Set(captions)].filter((c) => !this.cache.has(c));
    for (let i = 0; i < todo.length; i += batch) {
      const part = todo.slice(i, i + batch);
      const enc = this.encoder.encode(part);
      try {
        const [b, l, d] = enc.tokens.shape as [number, number, number];
        const tok = enc.tokens.dataSync() as Float32Array, mask = enc.mask.dataSync() as Float32Array, pooled = enc.pooled.dataSync() as Float32Array;
        for (let k = 0; k < b; k++) {
          const kept = this.kept;
          const tokens = new Float32Array(this.length * d), m = new Float32Array(this.length);
          tokens.set(tok.subarray(k * l * d, k * l * d + kept * d));
          if (this.options.maskPads) {
            m.set(mask.subarray(k * l, k * l + kept));
            let real = 0;
            for (let i = 0; i < l; i++) real += mask[k * l + i];
            if (real > kept) throw new Error(`caption ${JSON.stringify(part[k])} has ${real} tokens, more than the text condition's maxTokens ${kept}`);
          } else m.fill(1, 0, kept);
          if (this.options.keepPooled) {
            tokens.set(pooled.subarray(k * d, (k + 1) * d), kept * d);
            m[kept] = 1;
          }
          this.cache.set(part[k], { tokens, mask: m });
        }
      } finally {
        enc.tokens.dispose();
        enc.mask.dispose();
        enc.pooled.dispose();
      }
    }
  }

  /** Number of distinct captions encoded so far. */
  get cached(): number {
    return this.cache.size;
  }

  /** captions (B) → { tokens [B, L', D], mask [B, L'] } (encodes the ones not cached yet). */
  condition(captions: readonly string[]): Condition {
    this.prepare(captions);
    const b = captions.length, l = this.length, d = this.dim;
    const tokens = new Float32Array(b * l * d), mask = new Float32Array(b * l);
    captions.forEach((c, k) => {
      const e = this.cache.get(c)!;
      tokens.set(e.tokens, k * l * d);
      mask.set(e.mask, k * l);
    });
    return { tokens: tf.tensor3d(tokens, [b, l, d]), mask: tf.tensor2d(mask, [b, l]) };
  }

  /** The null condition (the empty prompt) repeated B times. */
  nullCondition(batch: number): Condition {
    return this.condition(new Array<string>(batch).fill(''));
  }
}
