/**
 * Attribute probes (docs/t2i.md): one linear probe per attribute, trained on the real standardised
 * latents (flattened tokens) of the training images of that kind; its ceiling is its accuracy on
 * the real images of the held-out combinations (which the probes never saw either).
 */
import { tf, LinearProbe, type Tensor } from '@raev2/core';
import type { EmojiCaptionItem } from '../data/emoji_captions.js';
import { ATTRIBUTES, attributeValues, type Attribute } from './attributes.js';
import { latentRows, type HostLatents } from '../train/source.js';

export interface AttributeProbe {
  attribute: Attribute;
  values: string[];
  probe: LinearProbe;
  /** Accuracy on the real held-out-combination images (the probe's ceiling there). */
  ceiling: number;
  trainAccuracy: number;
}

/** Flattened latents [B, N·C] of rows. */
function flat(l: HostLatents, idx: readonly number[]): Tensor {
  return tf.tidy(() => latentRows(l, idx).reshape([idx.length, -1]));
}

/** Train one probe per attribute on `train` (items + standardised latents), scored on `heldOut`. */
export function trainAttributeProbes(train: { items: readonly EmojiCaptionItem[]; latents: HostLatents }, heldOut: { items: readonly EmojiCaptionItem[]; latents: HostLatents }, steps = 300): AttributeProbe[] {
  return ATTRIBUTES.map((attribute) => {
    const values = attributeValues(attribute, train.items);
    const index = new Map(values.map((v, i) => [v, i]));
    const rows = (items: readonly EmojiCaptionItem[]) => items.map((it, i) => (it.attributes.kind === attribute.kind ? i : -1)).filter((i) => i >= 0);
    const tr = rows(train.items), ho = rows(heldOut.items);
    const x = flat(train.latents, tr);
    const { probe, trainAccuracy } = LinearProbe.train(x, tr.map((i) => index.get(train.items[i].attributes[attribute.field])!), values.length, { steps });
    x.dispose();
    let ceiling = NaN;
    if (ho.length) {
      const xh = flat(heldOut.latents, ho);
      ceiling = probe.accuracy(xh, ho.map((i) => index.get(heldOut.items[i].attributes[attribute.field]) ?? -1));
      xh.dispose();
    }
    return { attribute, values, probe, ceiling, trainAccuracy };
  });
}

/** Accuracy of a probe on latents [B, N, C] whose intended value is `want[i]` (items of other kinds are skipped: want null). */
export function probeAccuracy(p: AttributeProbe, latents: Tensor, want: readonly (string | null)[]): { accuracy: number; count: number } {
  const rows = want.map((w, i) => (w == null ? -1 : i)).filter((i) => i >= 0);
  if (rows.length === 0) return { accuracy: NaN, count: 0 };
  const x = tf.tidy(() => tf.gather(latents, tf.tensor1d(rows, 'int32')).reshape([rows.length, -1]));
  const index = new Map(p.values.map((v, i) => [v, i]));
  const acc = p.probe.accuracy(x, rows.map((i) => index.get(want[i]!) ?? -1));
  x.dispose();
  return { accuracy: acc, count: rows.length };
}
