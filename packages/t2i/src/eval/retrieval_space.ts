/**
 * Text↔image retrieval with the offline tower for generated latents: image embeddings come from
 * the tower's locked-image head on the pooled raw latent, text embeddings from the tower's pooled
 * output; a generated sample is a hit when its own prompt is the most similar among the set's.
 */
import * as path from 'node:path';
import { tf, loadSafetensors, destandardize, type Tensor, type LatentStats } from '@raev2/core';
import type { TextEncoder } from '@raev2/encoders';
import { LockedImageHead } from '../tower/tower.js';
import { IMAGE_HEAD_FILE } from '../tower/save.js';
import { pooledFeatures } from '../tower/image_features.js';
import { l2Normalize } from '../tower/sigmoid_loss.js';

/** The image head saved beside a tower folder. */
export function loadImageHead(towerDir: string, featureDim: number, dim: number): LockedImageHead {
  const head = new LockedImageHead(featureDim, dim);
  const sd = loadSafetensors(path.join(towerDir, IMAGE_HEAD_FILE));
  head.loadStateDict(sd, { strict: true, source: path.join(towerDir, IMAGE_HEAD_FILE) });
  for (const t of sd.values()) t.dispose();
  return head.eval();
}

/** Image→text top-1 of generated standardised latents [B, N, C] (row i made from prompt promptIndex[i] of `prompts`). */
export function generatedRetrieval(head: LockedImageHead, text: TextEncoder, stats: LatentStats, grid: [number, number], latents: Tensor, prompts: readonly string[], promptIndex: readonly number[]): number {
  const enc = text.encode([...prompts]);
  try {
    return tf.tidy(() => {
      const img = l2Normalize(head.forward(pooledFeatures(destandardize(latents, stats), grid)));
      const txt = l2Normalize(enc.pooled);
      const best = tf.matMul(img, txt, false, true).argMax(1).dataSync();
      let hits = 0;
      promptIndex.forEach((p, i) => (hits += best[i] === p ? 1 : 0));
      return hits / promptIndex.length;
    });
  } finally {
    enc.tokens.dispose();
    enc.mask.dispose();
    enc.pooled.dispose();
  }
}
