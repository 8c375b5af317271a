/**
 * Shuffled mini-batches without replacement that survive a resume: each epoch's permutation comes
 * from a seed drawn from the run's Rng, and (seed, cursor, epoch) live in `ctx.state.extra`, which
 * every checkpoint saves — a few numbers, never the permutation itself.
 */
import { z } from 'zod';
import { Rng } from '../runtime/rng.js';
import { parseWith } from '../util/config.js';
import type { StepContext } from './loop.js';

const SamplerState = z.object({
  epoch: z.number().int().nonnegative(),
  seed: z.array(z.number().int().min(0).max(0xffffffff)).length(4),
  cursor: z.number().int().nonnegative(),
});
type SamplerState = z.infer<typeof SamplerState>;

export class EpochSampler {
  private perm: number[] = [];
  private permSeed = '';

  /** Batches of `batchSize` distinct indices in [0, n); an epoch drops its last partial batch. State key: `ctx.state.extra[key]`. */
  constructor(readonly n: number, readonly batchSize: number, readonly key = 'sampler') {
    if (!(Number.isInteger(n) && Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= n)) {
      throw new Error(`EpochSampler: need integers 1 ≤ batchSize (${batchSize}) ≤ n (${n})`);
    }
  }

  /** Steps per epoch (drop-last). */
  get stepsPerEpoch(): number {
    return Math.floor(this.n / this.batchSize);
  }

  /** Indices of the next batch; advances the saved cursor and sets `ctx.state.epoch` to the current epoch. */
  next(ctx: Pick<StepContext, 'rng' | 'state'>): number[] {
    const saved = ctx.state.extra[this.key];
    let s: SamplerState | null = saved == null ? null : parseWith(SamplerState, saved, `sampler state (extra.${this.key})`);
    if (s == null || s.cursor + this.batchSize > this.n) s = { epoch: s == null ? 0 : s.epoch + 1, seed: ctx.rng.fork().state(), cursor: 0 };
    const seedKey = s.seed.join(',');
    if (seedKey !== this.permSeed) {
      this.perm = new Rng(s.seed).permutation(this.n);
      this.permSeed = seedKey;
    }
    const idx = this.perm.slice(s.cursor, s.cursor + this.batchSize);
    ctx.state.extra[this.key] = { ...s, cursor: s.cursor + this.batchSize };
    ctx.state.epoch = s.epoch;
    return idx;
  }
}
