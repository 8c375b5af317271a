/**
 * Guidance as denoiser wrappers (never branches inside samplers). Each applies its formula only
 * to samples whose t lies in [tMin, tMax] (inclusive, per sample) and returns the unguided full
 * prediction elsewhere:
 *  - CFG:            x̂ = x̂_null + w·(x̂_cond − x̂_null), one forward on the batch [cond; null]
 *  - AutoGuidance:   x̂ = x̂_weak + w·(x̂ − x̂_weak), with a second (weaker) denoiser
 *  - free (internal) x̂ = x̂_base + w·(x̂_full − x̂_base), from the same single forward (RAEv2 base head)
 * Wrappers compose: cfg(internal(d)) is upstream's `forward_with_ig_and_cfg`.
 */
import { z } from 'zod';
import { tf, type Tensor } from '../runtime/tf.js';
import { parseWith } from '../util/config.js';
import { type Condition, concatConditions, disposeCondition } from '../dit/condition.js';
import { type Denoiser, type DenoiserOutput, disposeDenoiserOutput } from './denoiser.js';

/** [tMin, tMax] where guidance applies. */
export type Interval = readonly [number, number];

/** Boolean [B, 1, …] mask of samples with t ∈ [lo, hi], broadcast to `like`'s shape. */
function inInterval(t: Tensor, [lo, hi]: Interval, like: Tensor): Tensor {
  return tf.tidy(() => {
    const m = tf.logicalAnd(t.greaterEqual(lo), t.lessEqual(hi));
    return tf.broadcastTo(m.reshape([-1, ...Array<number>(like.rank - 1).fill(1)]), like.shape);
  });
}

/** base + w·(x − base) where t ∈ interval, x elsewhere. */
function guide(x: Tensor, base: Tensor, w: number, t: Tensor, interval: Interval): Tensor {
  return tf.tidy(() => tf.where(inInterval(t, interval, x), base.add(x.sub(base).mul(w)), x));
}

function checkInterval(name: string, [lo, hi]: Interval): void {
  if (!(lo < hi)) throw new Error(`${name} interval must be (tMin, tMax) with tMin < tMax, got (${lo}, ${hi})`);
}

/** The null condition for a batch: a fixed Condition, or a function of the batch size. */
export type NullCondition = Condition | ((batch: number) => Condition);

export interface CfgOptions {
  scale: number;
  interval?: Interval;
  /** Unconditional input (null class labels, empty prompt …). */
  nullCond: NullCondition;
}

/** Classifier-free guidance: one forward on [x; x] with [cond; null]. */
export function cfgGuidance(d: Denoiser, o: CfgOptions): Denoiser {
  const interval = o.interval ?? [0, 1];
  checkInterval('CFG', interval);
  return (x, t, cond) => {
    const b = x.shape[0] as number;
    const nullCond = typeof o.nullCond === 'function' ? o.nullCond(b) : o.nullCond;
    const both = concatConditions(cond, nullCond);
    try {
      return tf.tidy(() => {
        const out = d(tf.concat([x, x], 0), tf.concat([t, t], 0), both);
        const [c, u] = tf.split(out.full, 2, 0);
        disposeDenoiserOutput(out);
        return { full: guide(c, u, o.scale, t, interval) };
      });
    } finally {
      disposeCondition(both);
      if (typeof o.nullCond === 'function') disposeCondition(nullCond);
    }
  };
}

export interface AutoGuidanceOptions {
  scale: number;
  interval?: Interval;
}

/** AutoGuidance (Karras et al.): a weaker model's prediction is the baseline. Two forwards. */
export function autoGuidance(d: Denoiser, weak: Denoiser, o: AutoGuidanceOptions): Denoiser {
  const interval = o.interval ?? [0, 1];
  checkInterval('AutoGuidance', interval);
  return (x, t, cond) =>
    tf.tidy(() => {
      const good = d(x, t, cond);
      const bad = weak(x, t, cond);
      const full = guide(good.full, bad.full, o.scale, t, interval);
      disposeDenoiserOutput(good);
      disposeDenoiserOutput(bad);
      return { full };
    });
}

export interface InternalGuidanceOptions {
  /** w (published 1.78). */
  scale: number;
  /** Default [0.1, 1]. */
  interval?: Interval;
}

/** Free guidance from the base head: x̂_base + w·(x̂_full − x̂_base). One forward. */
export function internalGuidance(d: Denoiser, o: InternalGuidanceOptions): Denoiser {
  const interval = o.interval ?? [0.1, 1];
  checkInterval('free guidance', interval);
  return (x, t, cond) =>
    tf.tidy(() => {
      const out = d(x, t, cond);
      if (out.base == null) {
        disposeDenoiserOutput(out);
        throw new Error('free guidance needs a model with a base head (RAEv2 config baseDepth)');
      }
      const full = guide(out.full, out.base, o.scale, t, interval);
      disposeDenoiserOutput(out);
      return { full };
    });
}

export const GuidanceConfigSchema = z.object({
  method: z.enum(['none', 'cfg', 'autoguidance', 'free', 'free+cfg']).default('none'),
  /** CFG / AutoGuidance weight. */
  cfgScale: z.number().default(1),
  cfgInterval: z.tuple([z.number(), z.number()]).default([0, 1]),
  /** Free-guidance weight (published 1.78). */
  freeScale: z.number().default(1.78),
  freeInterval: z.tuple([z.number(), z.number()]).default([0.1, 1]),
});
export type GuidanceConfig = z.infer<typeof GuidanceConfigSchema>;
export type GuidanceConfigInput = z.input<typeof GuidanceConfigSchema>;

export const GUIDANCE_METHODS = GuidanceConfigSchema.shape.method.unwrap().options;

/** Apply a guidance config to a denoiser. CFG needs `nullCond`; AutoGuidance needs `weak`. */
export function withGuidance(d: Denoiser, config: GuidanceConfigInput | GuidanceConfig, extra: { nullCond?: NullCondition; weak?: Denoiser } = {}): Denoiser {
  const method = (config as { method?: string }).method;
  if (method != null && !(GUIDANCE_METHODS as readonly string[]).includes(method)) {
    throw new Error(`unknown guidance "${method}" (known: ${GUIDANCE_METHODS.join(', ')})`);
  }
  const c = parseWith(GuidanceConfigSchema, config, 'guidance config');
  const needNull = () => {
    if (extra.nullCond == null) throw new Error(`guidance "${c.method}" needs a null condition`);
    return extra.nullCond;
  };
  switch (c.method) {
    case 'none':
      return d;
    case 'cfg':
      return cfgGuidance(d, { scale: c.cfgScale, interval: c.cfgInterval, nullCond: needNull() });
    case 'autoguidance':
      if (extra.weak == null) throw new Error('guidance "autoguidance" needs a second (weaker) model');
      return autoGuidance(d, extra.weak, { scale: c.cfgScale, interval: c.cfgInterval });
    case 'free':
      return internalGuidance(d, { scale: c.freeScale, interval: c.freeInterval });
    case 'free+cfg':
      return cfgGuidance(internalGuidance(d, { scale: c.freeScale, interval: c.freeInterval }), { scale: c.cfgScale, interval: c.cfgInterval, nullCond: needNull() });
  }
}

export type { DenoiserOutput };
