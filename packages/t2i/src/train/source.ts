/**
 * Captioned latents as a stage-2 training source (core's `ConditionedLatents`): standardised
 * latents [M, N, C] of the training images, each with its training captions; a batch draws one of
 * an image's captions at random and turns it into the text condition (cached tower features). The
 * baselines train on the same latents: one-hot caption ids (the `class` condition kind: it cannot
 * compose) and shuffled captions (text of another image).
 */
import { tf, Rng, type Tensor, type ConditionedLatents, type Condition } from '@raev2/core';
import type { TextConditioner } from '../condition/text_condition.js';

/** Standardised latents on the host. */
export interface HostLatents {
  /** Row-major [count, h·w, C]. */
  data: Float32Array;
  count: number;
  grid: [number, number];
  channels: number;
}

/** Rows `idx` of host latents → [B, N, C]. */
export function latentRows(l: HostLatents, idx: readonly number[]): Tensor {
  const per = l.grid[0] * l.grid[1] * l.channels;
  const out = new Float32Array(idx.length * per);
  idx.forEach((i, k) => {
    if (!(Number.isInteger(i) && i >= 0 && i < l.count)) throw new RangeError(`latent index ${i} is out of range [0, ${l.count})`);
    out.set(l.data.subarray(i * per, (i + 1) * per), k * per);
  });
  return tf.tensor3d(out, [idx.length, l.grid[0] * l.grid[1], l.channels]);
}

function check(latents: HostLatents, captions: readonly (readonly string[])[]): void {
  if (captions.length !== latents.count) throw new Error(`${captions.length} caption lists for ${latents.count} latents`);
  captions.forEach((c, i) => {
    if (c.length === 0) throw new Error(`image ${i} has no caption`);
  });
}

/** The text-conditioned source: condition kind `tokens` of the conditioner's width. */
export function captionedLatents(latents: HostLatents, captions: readonly (readonly string[])[], text: TextConditioner): ConditionedLatents {
  check(latents, captions);
  text.prepare(captions.flat());
  text.prepare(['']);
  return {
    size: latents.count,
    condition: { kind: 'tokens', dim: text.dim },
    grid: latents.grid,
    channels: latents.channels,
    batch: (idx: number[], rng: Rng) => ({ x: latentRows(latents, idx), cond: text.condition(idx.map((i) => captions[i][rng.int(captions[i].length)])) }),
    nullCondition: (b: number) => text.nullCondition(b),
  };
}

/** Caption → one-hot id table of the training captions (the baseline's classes). */
export function captionIds(captions: readonly (readonly string[])[]): Map<string, number> {
  const ids = new Map<string, number>();
  for (const cs of captions) for (const c of cs) if (!ids.has(c)) ids.set(c, ids.size);
  return ids;
}

/** The one-hot caption-id baseline: condition kind `class`, one class per distinct training caption (null = numClasses). */
export function captionIdLatents(latents: HostLatents, captions: readonly (readonly string[])[]): ConditionedLatents & { ids: Map<string, number> } {
  check(latents, captions);
  const ids = captionIds(captions);
  const n = ids.size;
  return {
    ids,
    size: latents.count,
    condition: { kind: 'class', numClasses: n },
    grid: latents.grid,
    channels: latents.channels,
    batch: (idx: number[], rng: Rng) => ({ x: latentRows(latents, idx), cond: { labels: tf.tensor1d(idx.map((i) => ids.get(captions[i][rng.int(captions[i].length)])!), 'int32') } }),
    nullCondition: (b: number): Condition => ({ labels: tf.fill([b], n, 'int32') }),
  };
}

/** The captions of a seeded permutation of the images (the shuffled-captions baseline). */
export function shuffledCaptions<T>(captions: readonly T[], seed: number): T[] {
  const perm = new Rng(seed).permutation(captions.length);
  return perm.map((p) => captions[p]);
}
