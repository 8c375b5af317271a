/**
 * Guidance as denoiser wrappers (docs/method.md §2.3); samplers never branch
 * on it. Each wrapper applies its formula only to samples whose t lies in [tMin, tMax]
 * (inclusive, per sample) and returns the unguided full prediction elsewhere:
 *  - CFG:           x̂ = x̂_null + w·(x̂_cond − x̂_null), one forward on the batch [cond; null]
 *  - AutoGuidance:  x̂ = x̂_weak + w·(x̂ − x̂_weak), with a second (weaker) denoiser
 *  - free guidance: x̂ = x̂_base + w·(x̂_full − x̂_base), from the same single forward (RAEv2 base head)
 * Combinations compose wrappers: free+cfg = cfg(free(d)) (upstream `forward_with_ig_and_cfg`),
 * autoguidance+cfg = cfg(auto(d, weak)), free+autoguidance = auto(free(d), weak).
 * This file also holds the guidance config, its labels, the interval parser and the CLI flag mapping.
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

export interface FreeGuidanceOptions {
  /** w (published 1.78). */
  scale: number;
  /** Default [0.1, 1]. */
  interval?: Interval;
}

/** Free guidance from the base head: x̂_base + w·(x̂_full − x̂_base). One forward. */
export function freeGuidance(d: Denoiser, o: FreeGuidanceOptions): Denoiser {
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

/** Every guidance the method names, alone and combined. */
export const GUIDANCE_METHODS = ['none', 'cfg', 'autoguidance', 'free', 'free+cfg', 'autoguidance+cfg', 'free+autoguidance'] as const;
export type GuidanceMethod = (typeof GUIDANCE_METHODS)[number];

const interval = z.tuple([z.number(), z.number()]).refine(([lo, hi]) => lo < hi, { message: 'must be [tMin, tMax] with tMin < tMax' });

export const GuidanceConfigSchema = z.object({
  method: z.enum(GUIDANCE_METHODS).default('none'),
  /** CFG weight w. */
  cfgScale: z.number().default(1),
  cfgInterval: interval.default([0, 1]),
  /** Free-guidance weight (published 1.78). */
  freeScale: z.number().default(1.78),
  freeInterval: interval.default([0.1, 1]),
  /** AutoGuidance weight. */
  autoScale: z.number().default(1),
  autoInterval: interval.default([0, 1]),
});
export type GuidanceConfig = z.infer<typeof GuidanceConfigSchema>;
export type GuidanceConfigInput = z.input<typeof GuidanceConfigSchema>;

/** The methods a guidance combines, e.g. free+cfg → {free, cfg}. */
export function guidanceParts(method: GuidanceMethod | string): { cfg: boolean; free: boolean; auto: boolean } {
  const p = method.split('+');
  return { cfg: p.includes('cfg'), free: p.includes('free'), auto: p.includes('autoguidance') };
}

/** Network evaluations per image and sampling step (rows, over every model involved): 1 per forward, ×2 for CFG's doubled batch, +1 model for AutoGuidance. */
export function guidanceNfePerStep(method: GuidanceMethod | string): number {
  const p = guidanceParts(method);
  return (p.cfg ? 2 : 1) * (p.auto ? 2 : 1);
}

/** Apply a guidance config to a denoiser. CFG needs `nullCond`; AutoGuidance needs `weak`. */
export function withGuidance(d: Denoiser, config: GuidanceConfigInput | GuidanceConfig, extra: { nullCond?: NullCondition; weak?: Denoiser } = {}): Denoiser {
  const method = (config as { method?: string }).method;
  if (method != null && !(GUIDANCE_METHODS as readonly string[]).includes(method)) {
    throw new Error(`unknown guidance "${method}" (known: ${GUIDANCE_METHODS.join(', ')})`);
  }
  const c = parseWith(GuidanceConfigSchema, config, 'guidance config');
  const p = guidanceParts(c.method);
  let g = d;
  if (p.free) g = freeGuidance(g, { scale: c.freeScale, interval: c.freeInterval });
  if (p.auto) {
    if (extra.weak == null) throw new Error(`guidance "${c.method}" needs a second (weaker) model`);
    g = autoGuidance(g, extra.weak, { scale: c.autoScale, interval: c.autoInterval });
  }
  if (p.cfg) {
    if (extra.nullCond == null) throw new Error(`guidance "${c.method}" needs a null condition`);
    g = cfgGuidance(g, { scale: c.cfgScale, interval: c.cfgInterval, nullCond: extra.nullCond });
  }
  return g;
}

/** Short text for a guidance config, e.g. `none`, `cfg(1.5)`, `free(1.78)`, `free(1.78)+cfg(1.5)`, `free(1.78)+autoguidance(2)`. */
export function guidanceLabel(g: GuidanceConfigInput | undefined): string {
  const c = GuidanceConfigSchema.parse(g ?? {});
  if (c.method === 'none') return 'none';
  const p = guidanceParts(c.method);
  const parts: string[] = [];
  if (p.free) parts.push(`free(${c.freeScale})`);
  if (p.auto) parts.push(`autoguidance(${c.autoScale})`);
  if (p.cfg) parts.push(`cfg(${c.cfgScale})`);
  return parts.join('+');
}

/** `tMin,tMax` (e.g. `0.1,1`) → [tMin, tMax]; throws naming `what` when malformed. */
export function parseInterval(text: string, what = 'interval'): Interval {
  const v = text.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
  if (v.length !== 2 || !v.every(Number.isFinite) || !(v[0] < v[1])) throw new Error(`${what}: "${text}" is not tMin,tMax with tMin < tMax (e.g. 0.1,1)`);
  return [v[0], v[1]];
}

const intervalFlag = z.string().transform((s, ctx) => {
  try {
    return parseInterval(s) as [number, number];
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message.replace(/^interval: /, '') });
    return z.NEVER;
  }
});

/**
 * The guidance flags of a command (`--guidance <method>` and the weights / intervals of its parts).
 * `--scale` / `--interval` set the first-named part's (free+cfg: free; autoguidance+cfg: autoguidance);
 * `--cfg-scale`, `--free-scale`, `--auto-scale` (and `--…-interval`) set a part by name.
 */
export const GuidanceFlagsShape = {
  guidance: z.enum(GUIDANCE_METHODS, { error: `must be one of ${GUIDANCE_METHODS.join(', ')}` }).default('none'),
  scale: z.coerce.number().optional(),
  interval: intervalFlag.optional(),
  'cfg-scale': z.coerce.number().optional(),
  'cfg-interval': intervalFlag.optional(),
  'free-scale': z.coerce.number().optional(),
  'free-interval': intervalFlag.optional(),
  'auto-scale': z.coerce.number().optional(),
  'auto-interval': intervalFlag.optional(),
};
export type GuidanceFlags = { [K in keyof typeof GuidanceFlagsShape]: z.output<(typeof GuidanceFlagsShape)[K]> };

/** Usage lines for the guidance flags. */
export const GUIDANCE_FLAGS_USAGE = `  --guidance   ${GUIDANCE_METHODS.join(' | ')} (default none)
  --scale      weight of the first-named guidance (free: published 1.78)      --interval tMin,tMax of it
  --cfg-scale --free-scale --auto-scale    a part's weight by name   --cfg-interval --free-interval --auto-interval
               (default intervals: CFG and AutoGuidance 0,1; free guidance 0.1,1)`;

/** The guidance config for parsed guidance flags (throws naming a flag that does not apply). */
export function guidanceFromFlags(f: Partial<GuidanceFlags> & { guidance?: string }): GuidanceConfigInput {
  const method = (f.guidance ?? 'none') as GuidanceMethod;
  if (!(GUIDANCE_METHODS as readonly string[]).includes(method)) throw new Error(`--guidance: unknown "${method}" (known: ${GUIDANCE_METHODS.join(', ')})`);
  const p = guidanceParts(method);
  const g: GuidanceConfigInput = { method };
  const first = method === 'none' ? null : (method.split('+')[0] as 'cfg' | 'free' | 'autoguidance');
  const set = (part: 'cfg' | 'free' | 'autoguidance', scale: number | undefined, iv: Interval | undefined, flag: string) => {
    if (scale == null && iv == null) return;
    if (!p[part === 'autoguidance' ? 'auto' : part]) throw new Error(`--${flag}-scale/--${flag}-interval: guidance "${method}" has no ${part} part`);
    const key = part === 'autoguidance' ? 'auto' : part;
    if (scale != null) (g as Record<string, unknown>)[`${key}Scale`] = scale;
    if (iv != null) (g as Record<string, unknown>)[`${key}Interval`] = [iv[0], iv[1]];
  };
  if ((f.scale != null || f.interval != null) && first == null) throw new Error('--scale/--interval: choose a guidance with --guidance');
  if (first) set(first, f.scale, f.interval, first === 'autoguidance' ? 'auto' : first);
  set('cfg', f['cfg-scale'], f['cfg-interval'], 'cfg');
  set('free', f['free-scale'], f['free-interval'], 'free');
  set('autoguidance', f['auto-scale'], f['auto-interval'], 'auto');
  return g;
}

export type { DenoiserOutput };
