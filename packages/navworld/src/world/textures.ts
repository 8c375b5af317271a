/**
 * Procedural wall textures (TEX × TEX RGB, bytes): 1 corridor concrete, then brick, wood planks,
 * tiles, stone blocks and striped wallpaper in distinct hues, so rooms are told apart by their walls.
 * Deterministic: the same id always gives the same texture.
 */
import { Rng } from '@raev2/core';

export const TEX = 32;
/** Texture ids are 1…TEXTURE_COUNT (0 is free floor). */
export const TEXTURE_COUNT = 6;

export type Texture = Uint8Array; // [TEX, TEX, 3], row v (top → bottom), column u

function make(fn: (u: number, v: number, rng: Rng) => [number, number, number], seed: number): Texture {
  const rng = new Rng(seed);
  const t = new Uint8Array(TEX * TEX * 3);
  for (let v = 0; v < TEX; v++) for (let u = 0; u < TEX; u++) {
    const [r, g, b] = fn(u, v, rng);
    const o = (v * TEX + u) * 3;
    t[o] = clamp(r); t[o + 1] = clamp(g); t[o + 2] = clamp(b);
  }
  return t;
}

const clamp = (x: number) => Math.max(0, Math.min(255, Math.round(x)));

const BUILDERS: Record<number, () => Texture> = {
  // concrete: grey with noise and a dark skirting band
  1: () => make((_u, v, r) => { const n = 150 + 20 * (r.random() - 0.5) - (v > 27 ? 60 : 0); return [n, n, n + 6]; }, 1),
  // brick: red-brown bricks, staggered rows of 8 px, light mortar
  2: () => make((u, v, r) => {
    const row = v >> 3, off = row % 2 ? 8 : 0;
    const mortar = v % 8 === 0 || (u + off) % 16 === 0;
    const n = 18 * (r.random() - 0.5);
    return mortar ? [200, 195, 185] : [160 + n, 60 + n, 45 + n];
  }, 2),
  // wood: vertical planks with grain
  3: () => make((u, v, r) => {
    const edge = u % 8 === 0;
    const grain = 12 * Math.sin((v + 3 * (u >> 3)) * 0.9) + 8 * (r.random() - 0.5);
    return edge ? [70, 45, 20] : [150 + grain, 100 + grain, 50 + grain / 2];
  }, 3),
  // tiles: blue and white checker of 8 px
  4: () => make((u, v, r) => {
    const n = 10 * (r.random() - 0.5);
    return ((u >> 3) + (v >> 3)) % 2 ? [60 + n, 90 + n, 190 + n] : [225 + n, 230 + n, 235 + n];
  }, 4),
  // stone: large green-grey blocks, dark joints
  5: () => make((u, v, r) => {
    const joint = v % 16 === 0 || (u + ((v >> 4) % 2 ? 0 : 11)) % 22 === 0;
    const n = 25 * (r.random() - 0.5);
    return joint ? [40, 45, 40] : [110 + n, 135 + n, 105 + n];
  }, 5),
  // wallpaper: yellow with purple diagonal stripes
  6: () => make((u, v) => (((u + v) >> 2) % 3 === 0 ? [120, 60, 150] : [230, 210, 110]), 6),
};

const cache = new Map<number, Texture>();

/** The texture of a wall id (1…TEXTURE_COUNT). */
export function wallTexture(id: number): Texture {
  const b = BUILDERS[id];
  if (b == null) throw new Error(`unknown wall texture ${id} (1…${TEXTURE_COUNT})`);
  let t = cache.get(id);
  if (t == null) cache.set(id, (t = b()));
  return t;
}
