/**
 * Attribute-sibling retrieval (docs/t2i.md): each held-out image against the captions that differ
 * from its own in one attribute only ("man cook, dark skin tone" among the five tones of "man
 * cook"). Whole-caption retrieval is decided by role and shape; this shows whether the tower tells
 * skin tone, gender and colour apart, which the DiT needs from it.
 */
import { tf, type Tensor } from '@raev2/core';
import type { EmojiCaptionItem } from '../data/emoji_captions.js';
import { l2Normalize } from './sigmoid_loss.js';

/** One attribute varied, the others of its kind held fixed. */
export const SIBLING_TESTS = [
  { name: 'skin tone', kind: 'person', field: 'tone', keep: ['role', 'gender'] },
  { name: 'gender', kind: 'person', field: 'gender', keep: ['role', 'tone'] },
  { name: 'colour', kind: 'shape', field: 'colour', keep: ['shape'] },
  { name: 'pair tone 1', kind: 'pair', field: 'tone1', keep: ['pair', 'tone2'] },
  { name: 'pair tone 2', kind: 'pair', field: 'tone2', keep: ['pair', 'tone1'] },
] as const;

/** The siblings of `item` for one test (itself included) and its index among them, or null when the test does not apply. */
export function siblingsOf(t: (typeof SIBLING_TESTS)[number], item: EmojiCaptionItem, all: readonly EmojiCaptionItem[]): { sibs: EmojiCaptionItem[]; own: number } | null {
  if (item.attributes.kind !== t.kind) return null;
  const sibs = all.filter((o) => o.attributes.kind === t.kind && t.keep.every((k) => o.attributes[k] === item.attributes[k]));
  const own = sibs.findIndex((o) => o.attributes[t.field] === item.attributes[t.field]);
  return sibs.length < 2 || own < 0 ? null : { sibs, own };
}

export interface SiblingRetrieval {
  /** Share of images whose own caption scores highest among its siblings'. */
  top1: number;
  /** Mean of 1 / (number of siblings). */
  chance: number;
  count: number;
}

/**
 * imageEmb [H, P]: embeddings of `images` (row-aligned); `all`: every item of the set (siblings may
 * be training captions); `embedText`: captions → [n, P] (caller's tower; the result is disposed here).
 */
export function siblingRetrieval(imageEmb: Tensor, images: readonly EmojiCaptionItem[], all: readonly EmojiCaptionItem[], embedText: (texts: string[]) => Tensor): Record<string, SiblingRetrieval> {
  const out: Record<string, SiblingRetrieval> = {};
  for (const t of SIBLING_TESTS) {
    let hits = 0, count = 0, chance = 0;
    images.forEach((it, r) => {
      const s = siblingsOf(t, it, all);
      if (s == null) return;
      const { sibs, own } = s;
      const txt = embedText(sibs.map((s) => s.captions[0]));
      const best = tf.tidy(() => tf.matMul(l2Normalize(imageEmb.slice([r], [1])), l2Normalize(txt), false, true).argMax(1).dataSync()[0]);
      txt.dispose();
      hits += best === own ? 1 : 0;
      chance += 1 / sibs.length;
      count++;
    });
    if (count) out[t.name] = { top1: hits / count, chance: chance / count, count };
  }
  return out;
}
