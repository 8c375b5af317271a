/**
 * Generation metrics (docs/method.md, sampling and metrics): the Fréchet distance of generated vs real samples in one or more
 * feature spaces, and FD_r^k = (1/k)·Σ_spaces FD(generated, train) / FD(held-out, train) — the
 * held-out set's distance to the training set is the floor a perfect generator reaches with the
 * same number of samples, so FD_r ≈ 1 means "as close as fresh real data". Use as many generated
 * samples as held-out ones: FD estimates are biased by O(1/n).
 */
import { tf, type Tensor } from '../runtime/tf.js';
import type { Encoder } from '../encoder.js';
import { FeatureStats, frechetDistanceOf } from './frechet.js';
import { pooledFeatures } from './recon.js';

/** A batch of samples: standardised latents [B, N, C] and/or images NHWC [B, H, W, 3] in [0, 1]. */
export interface SampleBatch {
  latents?: Tensor;
  images?: Tensor;
}

/** A feature space: reads one part of a batch and returns feature vectors [B, dim]. */
export interface FeatureSpace {
  readonly name: string;
  readonly dim: number;
  readonly input: 'latents' | 'images';
  features(x: Tensor): Tensor;
}

/** How latent tokens [B, N, C] become one vector: the token mean [B, C] or the flattened tokens [B, N·C]. */
export type LatentPool = 'mean' | 'flat';

/** latents [B, N, C] → [B, C] (token mean) or [B, N·C] (flattened). */
export function poolLatents(latents: Tensor, pool: LatentPool = 'mean'): Tensor {
  return tf.tidy(() => (pool === 'mean' ? latents.mean(1) : latents.reshape([latents.shape[0], -1])));
}

/** The RAE latent space itself (`pool` 'mean': C dims; 'flat': N·C dims, only for small grids). */
export function latentFeatureSpace(shape: { numTokens: number; channels: number }, pool: LatentPool = 'mean', name = 'latent'): FeatureSpace {
  return { name, input: 'latents', dim: pool === 'mean' ? shape.channels : shape.numTokens * shape.channels, features: (z) => poolLatents(z, pool) };
}

/** A frozen encoder's token-mean features of block `layer` (default its last): e.g. MobileNetV2 pooled features. */
export function encoderFeatureSpace(name: string, encoder: Encoder, layer = encoder.numLayers - 1): FeatureSpace {
  return { name, input: 'images', dim: encoder.hiddenSize, features: (images) => pooledFeatures(encoder, images, layer) };
}

/** Feature statistics of one sample set in every space, accumulated batch by batch (float64). */
export class FeatureSet {
  readonly stats = new Map<string, FeatureStats>();

  constructor(readonly spaces: readonly FeatureSpace[]) {
    const names = new Set<string>();
    for (const s of spaces) {
      if (names.has(s.name)) throw new Error(`feature space "${s.name}" given twice`);
      names.add(s.name);
      this.stats.set(s.name, new FeatureStats(s.dim));
    }
  }

  /** Samples seen (every space sees every batch). */
  get count(): number {
    return this.spaces.length ? this.stats.get(this.spaces[0].name)!.count : 0;
  }

  /** Add a batch; every space's input must be present. */
  update(batch: SampleBatch): this {
    for (const s of this.spaces) {
      const x = batch[s.input];
      if (x == null) throw new Error(`feature space "${s.name}" needs ${s.input}, which this batch lacks`);
      const f = s.features(x);
      try {
        this.stats.get(s.name)!.update(f);
      } finally {
        f.dispose();
      }
    }
    return this;
  }
}

/** Distances in one space: FD(generated, train), FD(held-out, train) and their ratio. */
export interface SpaceFD {
  space: string;
  fd: number;
  heldOut?: number;
  ratio?: number;
}

export interface GenerationFD {
  spaces: SpaceFD[];
  /** FD_r^k: mean ratio over the spaces (present when a held-out set was given). */
  fdr?: number;
}

/** FD of `generated` vs `train` per space, and FD_r^k when `heldOut` (same spaces) is given. */
export function generationFD(generated: FeatureSet, train: FeatureSet, heldOut?: FeatureSet): GenerationFD {
  const spaces: SpaceFD[] = [];
  for (const s of generated.spaces) {
    const g = generated.stats.get(s.name)!, t = train.stats.get(s.name);
    if (t == null) throw new Error(`generationFD: the training set has no "${s.name}" features`);
    const row: SpaceFD = { space: s.name, fd: frechetDistanceOf(g, t) };
    const h = heldOut?.stats.get(s.name);
    if (heldOut && h == null) throw new Error(`generationFD: the held-out set has no "${s.name}" features`);
    if (h) {
      row.heldOut = frechetDistanceOf(h, t);
      row.ratio = row.fd / Math.max(row.heldOut, 1e-12);
    }
    spaces.push(row);
  }
  const out: GenerationFD = { spaces };
  if (heldOut && spaces.length) out.fdr = spaces.reduce((a, s) => a + s.ratio!, 0) / spaces.length;
  return out;
}
