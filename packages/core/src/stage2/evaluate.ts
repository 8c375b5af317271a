/**
 * Generation metrics of a stage-2 model against real data (docs/method.md §2.3): FD per feature space of
 * generated vs training samples, FD_r^k against the held-out floor, and the class accuracy of
 * generated samples under a linear probe trained on real training latents (with the probe's own
 * held-out accuracy on real data as the ceiling to compare against).
 */
import { tf, type Tensor } from '../runtime/tf.js';
import { Rng } from '../runtime/rng.js';
import type { DiTModel } from '../dit/model.js';
import { guidanceLabel, type GuidanceConfigInput, type NullCondition } from '../sampling/guidance.js';
import type { Denoiser } from '../sampling/denoiser.js';
import { type Condition, disposeCondition } from '../dit/condition.js';
import type { SamplerName } from '../sampling/samplers.js';
import { FeatureSet, generationFD, poolLatents, type FeatureSpace, type LatentPool } from '../metrics/generation.js';
import { LinearProbe, type ProbeOptions } from '../metrics/probe.js';
import { generateLatents, proportionalLabels, type Generated } from './generate.js';
import { labelCondition, type ConditionedLatents } from './source.js';
import { latentBatch, type LatentSet } from './latents.js';

/** Real samples of one split: latents and, per image feature space, precomputed features ([count, 1, d] sets). */
export interface RealSplit {
  latents: LatentSet;
  imageFeatures: Record<string, LatentSet>;
}

/** What generated samples are compared with; built once per run. */
export interface RealReference {
  spaces: FeatureSpace[];
  train: FeatureSet;
  heldOut: FeatureSet | null;
  numClasses: number;
  /** Labels of the FD reference set: generated labels follow their class mix. */
  labels: Int32Array;
  /** Held-out sample count (the default number of samples to generate). */
  heldOutCount: number;
  probe: LinearProbe | null;
  probePool: LatentPool;
  probeTrainAccuracy?: number;
  probeHeldOutAccuracy?: number;
}

const CHUNK = 256;

/** Feature statistics of a real split in every space. */
export function realFeatureSet(spaces: FeatureSpace[], split: RealSplit): FeatureSet {
  const set = new FeatureSet(spaces);
  for (const s of spaces) {
    const stats = set.stats.get(s.name)!;
    if (s.input === 'latents') {
      for (let i = 0; i < split.latents.count; i += CHUNK) {
        const z = latentBatch(split.latents, range(i, Math.min(i + CHUNK, split.latents.count)));
        const f = s.features(z);
        stats.update(f);
        tf.dispose([z, f]);
      }
    } else {
      const f = split.imageFeatures[s.name];
      if (f == null) throw new Error(`no real "${s.name}" features for this split`);
      if (f.channels !== s.dim) throw new Error(`real "${s.name}" features have ${f.channels} dims, the space ${s.dim}`);
      stats.update(f.latents);
    }
  }
  return set;
}

/** Pooled latent features [count, d] of a latent set (the probe's input). */
function pooledFeatures(set: LatentSet, pool: LatentPool): Tensor {
  return tf.tidy(() => {
    const parts: Tensor[] = [];
    for (let i = 0; i < set.count; i += CHUNK) {
      const z = latentBatch(set, range(i, Math.min(i + CHUNK, set.count)));
      parts.push(poolLatents(z, pool));
    }
    return parts.length === 1 ? parts[0] : tf.concat(parts, 0);
  });
}

/**
 * Build the reference: feature sets of `train` (the FD reference, possibly a subset) and of the
 * held-out split, and, when asked, the linear probe trained on `probeTrain` (default `train`'s latents).
 */
export function buildReference(o: {
  spaces: FeatureSpace[];
  train: RealSplit;
  heldOut: RealSplit | null;
  numClasses: number;
  probeTrain?: LatentSet;
  probe?: boolean;
  probePool?: LatentPool;
  probeOptions?: ProbeOptions;
}): RealReference {
  const ref: RealReference = {
    spaces: o.spaces,
    train: realFeatureSet(o.spaces, o.train),
    heldOut: o.heldOut && o.heldOut.latents.count >= 2 ? realFeatureSet(o.spaces, o.heldOut) : null,
    numClasses: o.numClasses,
    labels: o.train.latents.labels,
    heldOutCount: o.heldOut?.latents.count ?? 0,
    probe: null,
    probePool: o.probePool ?? 'mean',
  };
  if (o.probe && o.numClasses >= 2) {
    const pt = o.probeTrain ?? o.train.latents;
    const x = pooledFeatures(pt, ref.probePool);
    try {
      const r = LinearProbe.train(x, pt.labels, o.numClasses, o.probeOptions);
      ref.probe = r.probe;
      ref.probeTrainAccuracy = r.trainAccuracy;
    } finally {
      x.dispose();
    }
    if (o.heldOut && o.heldOut.latents.count > 0) {
      const xh = pooledFeatures(o.heldOut.latents, ref.probePool);
      try {
        ref.probeHeldOutAccuracy = ref.probe.accuracy(xh, o.heldOut.latents.labels);
      } finally {
        xh.dispose();
      }
    }
  }
  return ref;
}

export function disposeReference(ref: RealReference): void {
  ref.probe?.dispose();
}

/** The conditions of generated samples, in order: rows [begin, begin + size) and, for the probe, their classes. */
export interface GenerationConditions {
  /** cond (the caller disposes it) and, when the condition has a class, each row's class (probe accuracy). */
  at(begin: number, size: number): { cond: Condition; labels?: ArrayLike<number> };
}

/** Class-label conditions for generated samples: row i gets `labels[i]`. */
export function classConditions(labels: readonly number[]): GenerationConditions {
  return {
    at: (begin, size) => {
      const l = labels.slice(begin, begin + size);
      if (l.length !== size) throw new Error(`classConditions: rows [${begin}, ${begin + size}) asked of ${labels.length} labels`);
      return { cond: labelCondition(l), labels: l };
    },
  };
}

/**
 * The conditions of a source's examples at `indices` (e.g. the held-out captions or trajectories)
 * as generation conditions: row i gets example indices[i]'s condition (its latent is dropped);
 * `classOf` gives the probe a class per example when the condition has one.
 */
export function sourceConditions(source: Pick<ConditionedLatents, 'batch'>, indices: readonly number[], o: { seed?: number; classOf?: (index: number) => number } = {}): GenerationConditions {
  const rng = new Rng(o.seed ?? 0);
  return {
    at: (begin, size) => {
      const idx = indices.slice(begin, begin + size);
      if (idx.length !== size) throw new Error(`sourceConditions: rows [${begin}, ${begin + size}) asked of ${indices.length} examples`);
      const { x, cond } = source.batch(idx, rng);
      x.dispose();
      return o.classOf ? { cond, labels: idx.map(o.classOf) } : { cond };
    },
  };
}

export interface EvaluateOptions {
  /**
   * Conditions of the generated samples (any Condition: text tokens, actions …, from the source or
   * the reference). Default: class labels with the reference's class mix, shuffled with `seed`.
   */
  conditions?: GenerationConditions;
  /** Samples to generate (default: the held-out count, else 256), with the reference's class mix. */
  count?: number;
  steps: number;
  sampler?: SamplerName;
  guidance?: GuidanceConfigInput;
  shift: number;
  /** t clamp of the x → velocity conversion (the training transport's tEps; default 0.05). */
  tEps?: number;
  /** The null condition for guidance (default the model's null class). */
  nullCondition?: NullCondition;
  /** Replaces the model's forward pass (see generateLatents). */
  denoiser?: Denoiser;
  seed: number;
  /** Latents [B, N, C] → images NHWC [0, 1]; needed by image feature spaces. */
  decode?: (latents: Tensor) => Tensor;
  batchSize?: number;
  weak?: DiTModel;
  onProgress?: (done: number, total: number) => void;
}

/** One evaluation: per-space FD (and the held-out floor), FD_r, probe accuracies, NFE. */
export interface GenerationMetrics {
  count: number;
  steps: number;
  guidance: string;
  nfePerImage: number;
  /** Network evaluations per image and sampling step (the guidance's cost: 1 none/free, 2 cfg/autoguidance, 4 autoguidance+cfg); absent in older records. */
  nfePerStep?: number;
  fd: Record<string, number>;
  fdHeldOut?: Record<string, number>;
  fdRatio?: Record<string, number>;
  fdr?: number;
  /** Fraction of generated samples the probe assigns to their conditioning class. */
  probeAccuracy?: number;
  probeTrainAccuracy?: number;
  probeHeldOutAccuracy?: number;
  seconds: number;
}

/**
 * Generate `count` samples from `model` — conditioned by `o.conditions` (default: the reference's
 * class mix) — and score them against `ref`: FD per space, FD_r, and the probe's accuracy on the
 * rows whose condition names a class.
 */
export function evaluateGeneration(model: DiTModel, ref: RealReference, o: EvaluateOptions): GenerationMetrics {
  const t0 = performance.now();
  const count = o.count ?? (ref.heldOutCount >= 2 ? ref.heldOutCount : 256);
  if (count < 2) throw new Error(`evaluateGeneration: need at least 2 samples, asked for ${count}`);
  const needImages = ref.spaces.some((s) => s.input === 'images');
  if (needImages && o.decode == null) throw new Error(`feature space(s) ${ref.spaces.filter((s) => s.input === 'images').map((s) => s.name).join(', ')} need decoded images, but no decoder was given`);
  // shuffled (seeded) so that every generation batch mixes classes
  const conditions = o.conditions ?? classConditions(shuffled(proportionalLabels(ref.labels, ref.numClasses, count), o.seed));
  const gen = new FeatureSet(ref.spaces);
  const rng = new Rng(o.seed);
  const bs = o.batchSize ?? 64;
  let rows = 0, hits = 0, probed = 0;
  for (let i = 0; i < count; i += bs) {
    const n = Math.min(bs, count - i);
    const { cond, labels: chunk } = conditions.at(i, n);
    let g: Generated;
    try {
      g = generateLatents(model, cond, { steps: o.steps, sampler: o.sampler, guidance: o.guidance, nullCondition: o.nullCondition, shift: o.shift, tEps: o.tEps, seed: rng, batchSize: bs, weak: o.weak, denoiser: o.denoiser });
    } finally {
      disposeCondition(cond);
    }
    let images: Tensor | undefined;
    try {
      rows += g.nfePerImage * n;
      images = needImages ? o.decode!(g.latents) : undefined;
      gen.update({ latents: g.latents, images });
      if (ref.probe && chunk) {
        const f = poolLatents(g.latents, ref.probePool);
        const pred = ref.probe.predict(f);
        f.dispose();
        pred.forEach((p, k) => { if (p === chunk[k]) hits++; });
        probed += n;
      }
    } finally {
      g.latents.dispose();
      images?.dispose();
    }
    o.onProgress?.(Math.min(i + bs, count), count);
  }
  const fd = generationFD(gen, ref.train, ref.heldOut ?? undefined);
  const out: GenerationMetrics = {
    count,
    steps: o.steps,
    guidance: guidanceLabel(o.guidance),
    nfePerImage: rows / count,
    nfePerStep: rows / count / o.steps,
    fd: Object.fromEntries(fd.spaces.map((s) => [s.space, s.fd])),
    seconds: 0,
  };
  if (ref.heldOut) {
    out.fdHeldOut = Object.fromEntries(fd.spaces.map((s) => [s.space, s.heldOut!]));
    out.fdRatio = Object.fromEntries(fd.spaces.map((s) => [s.space, s.ratio!]));
    out.fdr = fd.fdr;
  }
  if (ref.probe && probed > 0) {
    out.probeAccuracy = hits / probed;
    out.probeTrainAccuracy = ref.probeTrainAccuracy;
    if (ref.probeHeldOutAccuracy != null) out.probeHeldOutAccuracy = ref.probeHeldOutAccuracy;
  }
  out.seconds = (performance.now() - t0) / 1000;
  return out;
}

function shuffled(xs: number[], seed: number): number[] {
  const p = new Rng(seed ^ 0x51a7).permutation(xs.length);
  return p.map((i) => xs[i]);
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}
