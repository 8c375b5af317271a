/**
 * Group-balanced sampling of the training images (docs/t2i.md), as multilingual models sample
 * their languages: a group of n items is drawn with probability ∝ n^α, so α = 1 draws every item
 * equally and α < 1 lifts small groups. The emoji set's colour × shape group has 24 training images
 * beside 540 people; drawn uniformly, a 3000-step run shows each of them too rarely for the DiT to
 * learn their colours. Realised as whole repeats of each item (the epoch order stays a permutation).
 */
import type { HostLatents } from './source.js';
import type { CaptionedItem } from '../data/captioned.js';

/** An item's sampling group: its own (a manifest's "group"), else its kind (emoji set), else none. */
export function samplingGroup(item: CaptionedItem): string | undefined {
  return item.group ?? item.attributes?.kind;
}

/** Repeats per item: round((n_max / n_g)^(1 − α)), at least 1; items without a group form one group. */
export function groupRepeats(groups: readonly (string | undefined)[], alpha: number): number[] {
  if (!(alpha > 0 && alpha <= 1)) throw new Error(`group sampling exponent ${alpha}: expected 0 < α ≤ 1`);
  const counts = new Map<string, number>();
  for (const g of groups) counts.set(g ?? '', (counts.get(g ?? '') ?? 0) + 1);
  const most = Math.max(...counts.values());
  return groups.map((g) => Math.max(1, Math.round((most / counts.get(g ?? '')!) ** (1 - alpha))));
}

/** Rows of `l` with row i repeated `repeats[i]` times, in order, and the source row of each. */
export function repeatRows(l: HostLatents, repeats: readonly number[]): { latents: HostLatents; source: number[] } {
  if (repeats.every((r) => r === 1)) return { latents: l, source: repeats.map((_, i) => i) }; // α = 1: no copy
  const per = l.grid[0] * l.grid[1] * l.channels;
  const source = repeats.flatMap((r, i) => new Array<number>(r).fill(i));
  const data = new Float32Array(source.length * per);
  source.forEach((i, k) => data.set(l.data.subarray(i * per, (i + 1) * per), k * per));
  return { latents: { ...l, data, count: source.length }, source };
}
