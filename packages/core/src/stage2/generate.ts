/**
 * Class-conditional generation from a stage-2 DiT: seeded noise → Euler/Heun on the shifted grid,
 * with a guidance wrapper (none / CFG / AutoGuidance / free / free+CFG), in batches, counting
 * network evaluations. NFE per image counts rows: a CFG step evaluates two rows per image.
 */
import { tf, type Tensor } from '../runtime/tf.js';
import { Rng } from '../runtime/rng.js';
import type { DiTModel } from '../dit/model.js';
import { countNfe, modelDenoiser, type Denoiser } from '../sampling/denoiser.js';
import { withGuidance, type GuidanceConfigInput } from '../sampling/guidance.js';
import { flowGrid } from '../sampling/grid.js';
import { sample, type SamplerName } from '../sampling/samplers.js';

export interface GenerateOptions {
  steps: number;
  sampler?: SamplerName;
  guidance?: GuidanceConfigInput;
  /** Time shift s of the sampling grid (the training shift). */
  shift: number;
  /** Seed (or generator) of the initial noise. */
  seed: number | Rng;
  /** Rows per network call (default 64; CFG doubles it internally). */
  batchSize?: number;
  /** The weaker model for AutoGuidance. */
  weak?: DiTModel;
  /** Called after each batch with the number of images done. */
  onBatch?: (done: number) => void;
}

export interface Generated {
  /** Latents [B, N, C] in the standardised latent space. */
  latents: Tensor;
  /** Network evaluations per image (rows / images, over every model involved). */
  nfePerImage: number;
  /** Forward calls in total. */
  calls: number;
}

/** Generate one latent per entry of `labels` (class indices; the null class gives unconditional samples). */
export function generateLatents(model: DiTModel, labels: readonly number[], o: GenerateOptions): Generated {
  const g = o.guidance ?? { method: 'none' };
  const main = countNfe(modelDenoiser(model));
  const weak = o.weak ? countNfe(modelDenoiser(o.weak)) : null;
  const denoiser: Denoiser = withGuidance(main.denoiser, g, {
    nullCond: (b: number) => model.nullCondition(b),
    weak: weak?.denoiser,
  });
  const rng = typeof o.seed === 'number' ? new Rng(o.seed) : o.seed;
  const grid = flowGrid(o.steps, o.shift);
  const [h, w] = model.grid;
  const bs = Math.max(1, o.batchSize ?? 64);
  const parts: Tensor[] = [];
  const wasTraining = model.training;
  model.eval();
  try {
    for (let i = 0; i < labels.length; i += bs) {
      const chunk = labels.slice(i, i + bs);
      const cond = { labels: tf.tensor1d(chunk, 'int32') };
      try {
        parts.push(sample(denoiser, [chunk.length, h * w, model.inChannels], rng, { grid, cond, prediction: model.prediction, method: o.sampler ?? 'euler' }));
      } finally {
        cond.labels.dispose();
      }
      o.onBatch?.(Math.min(i + bs, labels.length));
    }
    const latents = parts.length === 1 ? parts[0] : tf.concat(parts, 0);
    if (parts.length > 1) tf.dispose(parts);
    const rows = main.nfe.rows + (weak?.nfe.rows ?? 0);
    return { latents, nfePerImage: labels.length ? rows / labels.length : 0, calls: main.nfe.calls + (weak?.nfe.calls ?? 0) };
  } catch (e) {
    tf.dispose(parts);
    throw e;
  } finally {
    model.train(wasTraining);
  }
}

/** `perClass` copies of each class index in `classes`, class-major: [c0, c0, …, c1, c1, …]. */
export function classMajorLabels(classes: readonly number[], perClass: number): number[] {
  return classes.flatMap((c) => Array<number>(perClass).fill(c));
}

/**
 * `count` labels with the class frequencies of `reference` (largest-remainder rounding), class-major:
 * generated sets then match the real set's class mix, which FD against that set requires.
 */
export function proportionalLabels(reference: ArrayLike<number>, numClasses: number, count: number): number[] {
  const freq = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < reference.length; i++) freq[reference[i]]++;
  const total = reference.length;
  if (total === 0) return balancedLabels(numClasses, count);
  const exact = freq.map((f) => (f * count) / total);
  const n = exact.map(Math.floor);
  const order = exact.map((e, c) => [e - Math.floor(e), c] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0, left = count - n.reduce((a, b) => a + b, 0); k < left; k++) n[order[k][1]]++;
  return n.flatMap((m, c) => Array<number>(m).fill(c));
}

/** `count` labels cycling through 0…numClasses−1 (balanced classes). */
export function balancedLabels(numClasses: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => i % numClasses);
}
