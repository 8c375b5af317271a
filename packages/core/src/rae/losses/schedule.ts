/**
 * When the GAN terms switch on (docs/method.md, decoder losses): the discriminator updates from epoch `discStart`
 * (published 6 of 16) and the decoder feels L_G from epoch `ganStart` (8 of 16). Short runs scale
 * the published fractions to their epoch count unless explicit epochs are given.
 */

/** Published epochs of a 16-epoch run. */
export const PUBLISHED_GAN_EPOCHS = { total: 16, discStart: 6, ganStart: 8 } as const;

export interface GanSchedule {
  /** First step at which D is updated. */
  discStartStep: number;
  /** First step at which w_g·λ·L_G enters the decoder loss. */
  ganStartStep: number;
}

/**
 * Steps of a run of `epochs` epochs × `stepsPerEpoch`; `discStart`/`ganStart` in epochs (may be
 * fractional), by default 6/16 and 8/16 of the run.
 */
export function ganSchedule(epochs: number, stepsPerEpoch: number, discStart?: number | null, ganStart?: number | null): GanSchedule {
  const d = discStart ?? (epochs * PUBLISHED_GAN_EPOCHS.discStart) / PUBLISHED_GAN_EPOCHS.total;
  const g = ganStart ?? (epochs * PUBLISHED_GAN_EPOCHS.ganStart) / PUBLISHED_GAN_EPOCHS.total;
  if (!(d >= 0) || !(g >= 0)) throw new Error(`GAN schedule: discStart ${d} and ganStart ${g} must be ≥ 0 epochs`);
  return { discStartStep: Math.round(d * stepsPerEpoch), ganStartStep: Math.round(g * stepsPerEpoch) };
}

/** What the GAN does at a 0-based step. */
export function ganPhase(step: number, s: GanSchedule): { trainDisc: boolean; useGan: boolean } {
  return { trainDisc: step >= s.discStartStep, useGan: step >= s.ganStartStep };
}
