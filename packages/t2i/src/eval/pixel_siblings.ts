/**
 * Attributes in pixels (docs/t2i.md). A generated image is decoded and compared in RGB (averaged over
 * boxes: eval/pixel_inputs.ts) with the real images of its attribute siblings (SIBLING_TESTS: the
 * same role and gender in the five skin tones, the same shape in the nine colours, the same pair with
 * one tone varied); it counts as right when the nearest (mean squared difference) is the image its
 * prompt describes. The latent probes cannot judge colour (9 colours from 24 training images) and
 * hardly skin tone, a small part of the latent's variance; in pixels both are plain. The decoder on
 * the prompt's own true latent, scored the same way, is the ceiling: what the latent and decoder can
 * show at best.
 */
import type { EmojiCaptionItem } from '../data/emoji_captions.js';
import { SIBLING_TESTS, siblingsOf } from '../tower/siblings.js';

export interface PixelSiblingScore {
  /** Share of samples whose nearest sibling image is their own prompt's. */
  accuracy: number;
  /** Mean of 1 / (number of siblings). */
  chance: number;
  count: number;
}

function sqDist(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`pixel siblings: images of ${a.length} and ${b.length} values (decode and read them at one size)`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

/**
 * `images[r]`: the decoded sample for `targets[r]` (flat RGB in [0, 1]); `real`: each item's real
 * image by key, at the same size; `all`: every item siblings may come from (training and held-out).
 * → per sibling test (by name) the accuracy over the samples it applies to.
 */
export function pixelSiblingAccuracy(images: readonly Float32Array[], targets: readonly EmojiCaptionItem[], all: readonly EmojiCaptionItem[], real: ReadonlyMap<string, Float32Array>): Record<string, PixelSiblingScore> {
  if (images.length !== targets.length) throw new Error(`pixel siblings: ${images.length} images for ${targets.length} targets`);
  const image = (it: EmojiCaptionItem) => {
    const x = real.get(it.key);
    if (x == null) throw new Error(`pixel siblings: no real image for ${it.key}`);
    return x;
  };
  const out: Record<string, PixelSiblingScore> = {};
  for (const t of SIBLING_TESTS) {
    let hits = 0, chance = 0, count = 0;
    targets.forEach((it, r) => {
      const s = siblingsOf(t, it, all);
      if (s == null) return;
      const d = s.sibs.map((o) => sqDist(images[r], image(o)));
      hits += d.indexOf(Math.min(...d)) === s.own ? 1 : 0;
      chance += 1 / s.sibs.length;
      count++;
    });
    if (count) out[t.name] = { accuracy: hits / count, chance: chance / count, count };
  }
  return out;
}

/**
 * The prompts scored in pixels: every colour × shape emoji, and every `stride`-th role (people) and
 * two-person emoji with all their siblings, so each sibling group is complete and balanced.
 */
export function pixelPromptItems(items: readonly EmojiCaptionItem[], stride = 3): EmojiCaptionItem[] {
  const every = (field: string, kind: string) => {
    const values = [...new Set(items.filter((i) => i.attributes.kind === kind).map((i) => i.attributes[field]))].sort();
    return new Set(values.filter((_, i) => i % stride === 0));
  };
  const roles = every('role', 'person'), pairs = every('pair', 'pair');
  return items.filter((i) => i.attributes.kind === 'shape' || (i.attributes.kind === 'person' && roles.has(i.attributes.role)) || (i.attributes.kind === 'pair' && pairs.has(i.attributes.pair)));
}
