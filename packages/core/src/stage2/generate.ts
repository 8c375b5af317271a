/**
 * Generation from a stage-2 DiT over any Condition (docs/method.md §2.3):
 * seeded noise → Euler/Heun on the shifted time grid, through a guidance wrapper (none / CFG /
 * AutoGuidance / free and their combinations, sampling/guidance.ts), in batches, counting network
 * evaluations. NFE per image counts rows: a CFG step evaluates two rows per image.
 */
import { tf, type Tensor } from '../runtime/tf.js';
import { Rng } from '../runtime/rng.js';
import type { DiTModel } from '../dit/model.js';
import { type Condition, conditionBatch, disposeCondition, sliceCondition } from '../dit/condition.js';
import { countNfe, modelDenoiser, type Denoiser } from '../sampling/denoiser.js';
import { withGuidance, type GuidanceConfigInput, type NullCondition } from '../sampling/guidance.js';
import { flowGrid } from '../sampling/time_grid.js';
import { sample, type SamplerName } from '../sampling/samplers.js';
import { T_EPS } from '../transport/path.js';

export interface GenerateOptions {
  steps: number;
  sampler?: SamplerName;
  guidance?: GuidanceConfigInput;
  /** The null condition (CFG): from the condition's provider; default the model's own (class models: the null class). */
  nullCondition?: NullCondition;
  /** Time shift s of the sampling grid (the training shift). */
  shift: number;
  /** t clamp of the x → velocity conversion (the training transport's tEps; default 0.05). */
  tEps?: number;
  /** Seed (or generator) of the initial noise. */
  seed: number | Rng;
  /**
   * One noise draw shared by every row of a batch (common random numbers), e.g. to rank conditions
   * (planning) by their outputs alone. Default false: independent noise per row.
   */
  sharedNoise?: boolean;
  /** Rows per network call (default 64; CFG doubles it internally). */
  batchSize?: number;
  /** The weaker model for AutoGuidance. */
  weak?: DiTModel;
  /**
   * Replace the model's forward pass (e.g. an onnxruntime session with the same weights): the
   * network evaluated in place of `model` (guidance and NFE counting wrap it as they wrap the model).
   */
  denoiser?: Denoiser;
  /** Called after each batch with the number of images done. */
  onBatch?: (done: number) => void;
}

export interface Generated {
  /** Latents [B, N, C] in the standardised latent space. */
  latents: Tensor;
  /** Network evaluations per image (rows / images, over every model involved). */
  nfePerImage: number;
  /** Network evaluations per sampling step and image (nfePerImage / steps for Euler). */
  nfePerStep: number;
  /** Forward calls in total. */
  calls: number;
}

/**
 * Generate one latent per row of `cond` (any Condition: labels [B], tokens [B, L, D_c] + mask,
 * a task's fields). The caller keeps ownership of `cond`. → latents [B, N, C].
 */
export function generateLatents(model: DiTModel, cond: Condition, o: GenerateOptions): Generated {
  const count = conditionBatch(cond);
  const g = o.guidance ?? { method: 'none' };
  const main = countNfe(o.denoiser ?? modelDenoiser(model));
  const weak = o.weak ? countNfe(modelDenoiser(o.weak)) : null;
  const denoiser: Denoiser = withGuidance(main.denoiser, g, {
    nullCond: o.nullCondition ?? ((b: number) => model.nullCondition(b)),
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
    // shared noise: every batch starts from the same generator state, so all rows share one draw
    const start = o.sharedNoise ? rng.state() : null;
    for (let i = 0; i < count; i += bs) {
      const n = Math.min(bs, count - i);
      if (start) rng.setState(start);
      const chunk = count <= bs ? cond : sliceCondition(cond, i, n);
      try {
        parts.push(sample(denoiser, [n, h * w, model.inChannels], rng, { grid, cond: chunk, prediction: model.prediction, tEps: o.tEps ?? T_EPS, method: o.sampler ?? 'euler', sharedNoise: o.sharedNoise }));
      } finally {
        if (chunk !== cond) disposeCondition(chunk);
      }
      o.onBatch?.(i + n);
    }
    const latents = parts.length === 1 ? parts[0] : tf.concat(parts, 0);
    if (parts.length > 1) tf.dispose(parts);
    const rows = main.nfe.rows + (weak?.nfe.rows ?? 0);
    const perImage = count ? rows / count : 0;
    return { latents, nfePerImage: perImage, nfePerStep: perImage / o.steps, calls: main.nfe.calls + (weak?.nfe.calls ?? 0) };
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
