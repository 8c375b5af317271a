/**
 * `t2i eval` as a function (docs/t2i.md): for every model (the text-conditioned run and the
 * baselines in the same run: untrained DiT, one-hot caption ids, shuffled captions) and guidance
 * setting (none / CFG / free / free+CFG at equal network evaluations per image), generate
 * `perPrompt` samples for each prompt of the seen, held-out-combination and paraphrase sets and
 * score them: attribute accuracy by probes trained on real latents (with each probe's ceiling on
 * the real held-out images), image→text retrieval top-1 with the offline tower, and FD in the
 * latent space (token mean) against the training latents.
 */
import { tf, Rng, FeatureStats, frechetDistanceOf, generateLatents, disposeCondition, createDiT, loadStats, disposeStats, progress, type GuidanceConfigInput, type Tensor } from '@raev2/core';
import type { TextEncoder } from '@raev2/encoders';
import type { EmojiCaptionItem } from '../data/emoji_captions.js';
import type { HostLatents } from '../train/source.js';
import { latentRows } from '../train/source.js';
import { standardizeHost } from '../train/latents.js';
import type { T2IModel } from '../train/model.js';
import { trainAttributeProbes, probeAccuracy, type AttributeProbe } from './probes.js';
import { promptSets, type PromptSet } from './prompts.js';
import { generatedRetrieval } from './retrieval_space.js';
import type { LockedImageHead } from '../tower/tower.js';
import { pixelPromptItems, pixelSiblingAccuracy, type PixelSiblingScore } from './pixel_siblings.js';

export interface EvalModel {
  name: string;
  model: T2IModel;
  guidance: { name: string; config: GuidanceConfigInput; steps: number }[];
}

export interface EvalRow {
  model: string;
  guidance: string;
  steps: number;
  nfePerImage: number;
  set: string;
  samples: number;
  /** Attribute → accuracy of generated samples. */
  attributes: Record<string, number>;
  /** Mean over the attributes that apply to the set. */
  attributeMean: number;
  retrievalTop1: number;
  retrievalChance: number;
  fdLatent: number;
}

/** Attributes in pixels for one model × guidance × set (eval/pixel_siblings.ts). */
export interface PixelRow {
  model: string;
  guidance: string;
  set: 'seen' | 'held-out';
  samples: number;
  /** Sibling test (skin tone, gender, colour, pair tone 1/2) → score. */
  tests: Record<string, PixelSiblingScore>;
}

export interface EvalResult {
  probes: { attribute: string; classes: number; trainAccuracy: number; ceilingHeldOut: number }[];
  /** Attributes in pixels (with a decoder): per model and guidance, and the ceiling row `decoder on the true latent`. */
  pixels?: PixelRow[];
  /** FD of the real held-out-combination latents against the training latents (the floor). */
  fdLatentRealHeldOut: number;
  rows: EvalRow[];
}

/** Token-mean latent features [B, C] into a Fréchet accumulator. */
function meanStats(latents: Tensor, stats?: FeatureStats): FeatureStats {
  const s = stats ?? new FeatureStats(latents.shape[2] as number);
  const f = tf.tidy(() => latents.mean(1));
  s.update(f);
  f.dispose();
  return s;
}

export interface EvaluateOptions {
  train: { items: readonly EmojiCaptionItem[]; latents: HostLatents };
  heldOut: { items: readonly EmojiCaptionItem[]; latents: HostLatents };
  models: EvalModel[];
  /** Retrieval with the offline tower (skipped when absent). */
  retrieval?: { head: LockedImageHead; text: TextEncoder; statsFile: string };
  perPrompt: number;
  seed: number;
  seenStride?: number;
  probeSteps?: number;
  /**
   * Score attributes in pixels too: `decode` maps standardised latents [B, N, C] to images
   * [B, H, W, 3] in [0, 1]; `real` holds every item's real image (flat, same size) by key.
   */
  pixels?: { decode: (latents: Tensor) => Tensor; real: ReadonlyMap<string, Float32Array>; stride?: number };
}

/** Rows [B, H, W, 3] of a tensor as flat host arrays. */
function hostRows(t: Tensor): Float32Array[] {
  const d = t.dataSync() as Float32Array, b = t.shape[0] as number, n = d.length / b;
  return Array.from({ length: b }, (_, r) => d.slice(r * n, (r + 1) * n));
}

/** Pixel-sibling rows of every model × guidance on the seen and held-out sibling prompts, after the ceiling row. */
function scorePixels(o: EvaluateOptions & { pixels: NonNullable<EvaluateOptions['pixels']> }, onSet: () => void): PixelRow[] {
  const all = [...o.train.items, ...o.heldOut.items];
  const picked = pixelPromptItems(all, o.pixels.stride);
  const rows: PixelRow[] = [];
  for (const set of ['seen', 'held-out'] as const) {
    const targets = picked.filter((it) => it.heldOut === (set === 'held-out'));
    if (targets.length === 0) continue;
    // ceiling: the decoder on each target's true latent
    const src = set === 'held-out' ? o.heldOut : o.train;
    const z = latentRows(src.latents, targets.map((it) => src.items.indexOf(it)));
    const img = o.pixels.decode(z);
    rows.push({ model: 'decoder on the true latent', guidance: '—', set, samples: targets.length, tests: pixelSiblingAccuracy(hostRows(img), targets, all, o.pixels.real) });
    tf.dispose([z, img]);
    const k = o.perPrompt;
    const expanded = targets.flatMap((it) => new Array<EmojiCaptionItem>(k).fill(it));
    for (const m of o.models) {
      for (const g of m.guidance) {
        const cond = m.model.condition(expanded.map((it) => it.captions[0]));
        let latents: Tensor;
        try {
          latents = generateLatents(m.model.model, cond, { steps: g.steps, shift: m.model.shift, seed: new Rng(o.seed + 11), guidance: g.config, nullCondition: (b) => m.model.nullCondition(b) }).latents;
        } finally {
          disposeCondition(cond);
        }
        const images = o.pixels.decode(latents);
        latents.dispose();
        rows.push({ model: m.name, guidance: g.name, set, samples: expanded.length, tests: pixelSiblingAccuracy(hostRows(images), expanded, all, o.pixels.real) });
        images.dispose();
        onSet();
      }
    }
  }
  return rows;
}

/** Score every model × guidance × prompt set; see the file comment. Latents are standardised. */
export function evaluateT2I(o: EvaluateOptions): EvalResult {
  const probes = trainAttributeProbes(o.train, o.heldOut, o.probeSteps ?? 300);
  const trainStats = meanStats(latentRows(o.train.latents, Array.from({ length: o.train.latents.count }, (_, i) => i)));
  const heldAll = latentRows(o.heldOut.latents, Array.from({ length: o.heldOut.latents.count }, (_, i) => i));
  const fdReal = frechetDistanceOf(meanStats(heldAll), trainStats);
  heldAll.dispose();
  const sets = promptSets(o.train.items, o.heldOut.items, o.seenStride ?? 8);
  const stats = o.retrieval ? loadStats(o.retrieval.statsFile) : null;
  const rows: EvalRow[] = [];
  let pixels: PixelRow[] | undefined;
  const settings = o.models.reduce((a, m) => a + m.guidance.length, 0);
  const total = settings * (sets.length + (o.pixels ? 2 : 0));
  const bar = progress({ label: 't2i eval', total, unit: 'set' });
  let done = 0;
  try {
    for (const m of o.models) {
      for (const g of m.guidance) {
        for (const set of sets) {
          rows.push(scoreSet(m, g, set, probes, trainStats, o, stats));
          bar.update(++done);
        }
      }
    }
    if (o.pixels) pixels = scorePixels({ ...o, pixels: o.pixels }, () => bar.update(++done));
  } finally {
    bar.finish();
    if (stats) disposeStats(stats);
    for (const p of probes) p.probe.dispose?.();
  }
  return {
    probes: probes.map((p) => ({ attribute: p.attribute.name, classes: p.values.length, trainAccuracy: p.trainAccuracy, ceilingHeldOut: p.ceiling })),
    fdLatentRealHeldOut: fdReal,
    rows,
    ...(pixels ? { pixels } : {}),
  };
}

function scoreSet(m: EvalModel, g: EvalModel['guidance'][number], set: PromptSet, probes: AttributeProbe[], trainStats: FeatureStats, o: EvaluateOptions, stats: ReturnType<typeof loadStats> | null): EvalRow {
  const k = o.perPrompt;
  const prompts = set.prompts.flatMap((p) => new Array<string>(k).fill(p));
  const promptIndex = set.prompts.flatMap((_, i) => new Array<number>(k).fill(i));
  const items = set.items.flatMap((it) => new Array<EmojiCaptionItem>(k).fill(it));
  const cond = m.model.condition(prompts);
  let latents: Tensor;
  let nfe: number;
  try {
    const gen = generateLatents(m.model.model, cond, { steps: g.steps, shift: m.model.shift, seed: new Rng(o.seed + 7), guidance: g.config, nullCondition: (b) => m.model.nullCondition(b) });
    latents = gen.latents;
    nfe = gen.nfePerImage;
  } finally {
    disposeCondition(cond);
  }
  try {
    const attributes: Record<string, number> = {};
    for (const p of probes) {
      const want = items.map((it) => (it.attributes.kind === p.attribute.kind ? it.attributes[p.attribute.field] : null));
      const r = probeAccuracy(p, latents, want);
      if (r.count > 0) attributes[p.attribute.name] = r.accuracy;
    }
    const vals = Object.values(attributes);
    const fd = frechetDistanceOf(meanStats(latents), trainStats);
    const grid = o.train.latents.grid;
    const retrieval = o.retrieval && stats ? generatedRetrieval(o.retrieval.head, o.retrieval.text, stats, grid, latents, set.prompts, promptIndex) : NaN;
    return {
      model: m.name, guidance: g.name, steps: g.steps, nfePerImage: nfe, set: set.name, samples: prompts.length,
      attributes, attributeMean: vals.reduce((a, v) => a + v, 0) / Math.max(1, vals.length),
      retrievalTop1: retrieval, retrievalChance: 1 / set.prompts.length, fdLatent: fd,
    };
  } finally {
    latents.dispose();
  }
}

/** An untrained DiT^DH of a trained model's shape (fresh seeded weights), conditioned the same way. */
export function untrainedLike(m: T2IModel, seed = 0): T2IModel {
  const model = createDiT(m.model.config, seed).eval();
  return { ...m, model, step: 0, dispose: () => model.dispose() };
}

export { standardizeHost };
