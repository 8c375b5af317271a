/** Timing helpers: median wall time of repeated runs after warm-up, and small formatting utilities. */

export interface TimingOptions {
  warmup: number;
  /** Most timed runs. */
  repeats: number;
  /** Fewest timed runs when `budgetMs` cuts the count (default 3). */
  minRepeats?: number;
  /** Aim for about this much timed work per case: repeats = budget / (last warm-up time). */
  budgetMs?: number;
}

/** Median milliseconds of the timed runs of `fn` after `warmup` runs (fn may be async). */
export async function medianMs(fn: () => unknown, opts: TimingOptions): Promise<number> {
  return (await interleavedMedianMs([fn], opts))[0];
}

/**
 * Median milliseconds of each of `fns`, warmed up and timed in alternation (a, b, a, b, …) so that
 * a shared machine's slow spells fall on all of them alike; for ratios between close contenders.
 * With `budgetMs`, repeats = budget / (the slowest function's last warm-up time).
 */
export async function interleavedMedianMs(fns: (() => unknown)[], opts: TimingOptions): Promise<number[]> {
  const time = async (fn: () => unknown) => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };
  let last = 0;
  for (let i = 0; i < opts.warmup; i++) {
    last = 0;
    for (const fn of fns) last = Math.max(last, await time(fn));
  }
  let repeats = opts.repeats;
  if (opts.budgetMs != null && last > 0) {
    repeats = Math.max(Math.min(opts.minRepeats ?? 3, opts.repeats), Math.min(opts.repeats, Math.floor(opts.budgetMs / last)));
  }
  const times: number[][] = fns.map(() => []);
  for (let i = 0; i < repeats; i++) for (const [j, fn] of fns.entries()) times[j].push(await time(fn));
  return times.map((t) => {
    t.sort((a, b) => a - b);
    const mid = t.length >> 1;
    return t.length % 2 === 1 ? t[mid] : (t[mid - 1] + t[mid]) / 2;
  });
}

/** GFLOP/s of `flops` done in `ms` milliseconds. */
export const gflops = (flops: number, ms: number): number => flops / ms / 1e6;

/** Fixed-precision number, or '–' when absent. */
export function fmt(v: number | null | undefined, digits = 1): string {
  return v == null || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

/** Max |a − b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}
