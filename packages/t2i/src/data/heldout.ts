/**
 * Held-out attribute combinations that test composition (docs/t2i.md): whole combinations are
 * removed from training while every single value and every pair of factors stays seen.
 *
 * - People (role × gender × tone): role r loses the one cell (gender r mod G, tone r mod T). With
 *   G = 2 and T = 5 coprime, every block of G·T consecutive roles holds out every (gender, tone)
 *   cell exactly once — a cyclic Latin-square design: each gender is held out T times per block,
 *   each tone G times, and no role loses more than one cell (so every role×gender and role×tone
 *   pair keeps T − 1 and G − 1 ≥ 1 training images).
 * - Colour × shape: shape s loses colour 3s + 1 (orange heart, blue circle, black square): one
 *   cell per shape, each in a different colour, so every colour and every shape stays seen.
 * - Two-person tone pairs: the ordered pairs (i, i + 2 mod 5) for every two-person emoji; every
 *   tone still appears on both sides, and with every other partner tone but one.
 */

/** Held-out (gender, tone) cell of role `r` among `genders` × `tones` values. */
export function heldOutPersonCell(r: number, genders: number, tones: number): { gender: number; tone: number } {
  return { gender: r % genders, tone: r % tones };
}

/** Held-out colour index of shape `s`. */
export function heldOutColour(s: number): number {
  return 3 * s + 1;
}

/** Whether the ordered tone pair (i, j) of a two-person emoji is held out. */
export function isHeldOutTonePair(i: number, j: number, tones: number): boolean {
  return j === (i + 2) % tones;
}
