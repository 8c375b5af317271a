/**
 * Seeded grid maps of rooms joined by corridors. Cells hold 0 (free floor) or a wall texture id
 * (1…TEXTURE_COUNT). Every room gets its own wall texture and a few emoji posters on its walls
 * (landmarks); corridors use texture 1. The map border is always wall.
 */
import { Rng } from '@raev2/core';
import { z } from 'zod';
import { TEXTURE_COUNT } from './textures.js';

/** A poster on one face of a wall cell, seen from the free cell on its `side`. */
export interface Poster {
  /** Wall cell. */
  cx: number;
  cy: number;
  /** Which face: the free neighbour lies at −x ('W'), +x ('E'), −y ('S') or +y ('N'). */
  side: 'W' | 'E' | 'S' | 'N';
  /** Index into the poster image set. */
  image: number;
}

export interface Room {
  x: number;
  y: number;
  w: number;
  h: number;
  texture: number;
}

export interface GridMap {
  seed: number;
  width: number;
  height: number;
  /** Row-major cells [height · width]: cells[y · width + x]. */
  cells: Uint8Array;
  rooms: Room[];
  posters: Poster[];
  /** Poster index by face key (`posterKey`). */
  posterAt: Map<number, number>;
}

export const MapOptionsSchema = z.object({
  width: z.number().int().min(8).max(256).default(24),
  height: z.number().int().min(8).max(256).default(24),
  /** Rooms attempted (overlapping ones are dropped). */
  rooms: z.number().int().min(1).max(64).default(7),
  roomMin: z.number().int().min(2).default(3),
  roomMax: z.number().int().min(2).default(6),
  /** Posters per room. */
  postersPerRoom: z.tuple([z.number().int().min(0), z.number().int().min(0)]).default([1, 3]),
  /** Size of the poster image set to draw from. */
  posterImages: z.number().int().positive().default(48),
}).refine((o) => o.roomMin <= o.roomMax, { message: 'roomMin must be ≤ roomMax', path: ['roomMin'] });
export type MapOptions = z.input<typeof MapOptionsSchema>;

const SIDES = { W: [-1, 0], E: [1, 0], S: [0, -1], N: [0, 1] } as const;

/** Integer key of a wall face. */
export function posterKey(cx: number, cy: number, side: Poster['side']): number {
  return ((cy * 4096 + cx) << 2) | 'WESN'.indexOf(side);
}

/** Cell value at (cx, cy); outside the map counts as wall (texture 1). */
export function cellAt(m: GridMap, cx: number, cy: number): number {
  if (cx < 0 || cy < 0 || cx >= m.width || cy >= m.height) return 1;
  return m.cells[cy * m.width + cx];
}

/** Whether the point (x, y) lies in a free cell. */
export function isFree(m: GridMap, x: number, y: number): boolean {
  return cellAt(m, Math.floor(x), Math.floor(y)) === 0;
}

/** Generate a map from a seed (same seed and options → same map). */
export function generateMap(seed: number, options: MapOptions = {}): GridMap {
  const o = MapOptionsSchema.parse(options);
  const rng = new Rng(seed * 7919 + 17);
  const { width, height } = o;
  const cells = new Uint8Array(width * height).fill(1);
  const rooms: Room[] = [];
  for (let a = 0; a < o.rooms * 8 && rooms.length < o.rooms; a++) {
    const w = o.roomMin + rng.int(o.roomMax - o.roomMin + 1);
    const h = o.roomMin + rng.int(o.roomMax - o.roomMin + 1);
    if (w > width - 2 || h > height - 2) continue;
    const x = 1 + rng.int(width - w - 1), y = 1 + rng.int(height - h - 1);
    // keep one wall cell between rooms
    if (rooms.some((r) => x <= r.x + r.w && r.x <= x + w && y <= r.y + r.h && r.y <= y + h)) continue;
    rooms.push({ x, y, w, h, texture: 2 + rng.int(TEXTURE_COUNT - 1) });
  }
  if (rooms.length === 0) throw new Error(`map seed ${seed}: no room fits a ${width}×${height} grid`);
  for (const r of rooms) for (let j = r.y; j < r.y + r.h; j++) for (let i = r.x; i < r.x + r.w; i++) cells[j * width + i] = 0;
  // L-shaped corridors between consecutive rooms (room centres)
  const centre = (r: Room) => [r.x + (r.w >> 1), r.y + (r.h >> 1)] as const;
  for (let k = 1; k < rooms.length; k++) {
    const [ax, ay] = centre(rooms[k - 1]), [bx, by] = centre(rooms[k]);
    const horizontalFirst = rng.random() < 0.5;
    const carve = (i: number, j: number) => { cells[j * width + i] = 0; };
    if (horizontalFirst) {
      for (let i = Math.min(ax, bx); i <= Math.max(ax, bx); i++) carve(i, ay);
      for (let j = Math.min(ay, by); j <= Math.max(ay, by); j++) carve(bx, j);
    } else {
      for (let j = Math.min(ay, by); j <= Math.max(ay, by); j++) carve(ax, j);
      for (let i = Math.min(ax, bx); i <= Math.max(ax, bx); i++) carve(i, by);
    }
  }
  // wall textures: a wall touching a room takes the room's texture; others stay corridor texture 1
  for (const r of rooms) {
    for (let j = r.y - 1; j <= r.y + r.h; j++) for (let i = r.x - 1; i <= r.x + r.w; i++) {
      if (i < 0 || j < 0 || i >= width || j >= height) continue;
      if (cells[j * width + i] !== 0) cells[j * width + i] = r.texture;
    }
  }
  // posters on room walls
  const m: GridMap = { seed, width, height, cells, rooms, posters: [], posterAt: new Map() };
  for (const r of rooms) {
    const faces: Poster[] = [];
    for (let i = r.x; i < r.x + r.w; i++) {
      faces.push({ cx: i, cy: r.y - 1, side: 'N', image: 0 }, { cx: i, cy: r.y + r.h, side: 'S', image: 0 });
    }
    for (let j = r.y; j < r.y + r.h; j++) {
      faces.push({ cx: r.x - 1, cy: j, side: 'E', image: 0 }, { cx: r.x + r.w, cy: j, side: 'W', image: 0 });
    }
    const walls = faces.filter((f) => cellAt(m, f.cx, f.cy) !== 0 && cellAt(m, f.cx + SIDES[f.side][0], f.cy + SIDES[f.side][1]) === 0);
    const [lo, hi] = o.postersPerRoom;
    const n = Math.min(walls.length, lo + rng.int(Math.max(0, hi - lo) + 1));
    const order = rng.permutation(walls.length);
    for (let k = 0; k < n; k++) {
      const p = { ...walls[order[k]], image: rng.int(o.posterImages) };
      const key = posterKey(p.cx, p.cy, p.side);
      if (m.posterAt.has(key)) continue;
      m.posterAt.set(key, m.posters.length);
      m.posters.push(p);
    }
  }
  return m;
}

/** A random free position at least `clearance` from any wall cell (centre of a free cell ± jitter). */
export function randomFreePose(m: GridMap, rng: Rng, clearance = 0.3): { x: number; y: number; yaw: number } {
  for (let a = 0; a < 10000; a++) {
    const x = 1 + rng.random() * (m.width - 2), y = 1 + rng.random() * (m.height - 2);
    if (wallClearance(m, x, y) >= clearance) return { x, y, yaw: (rng.random() * 2 - 1) * Math.PI };
  }
  throw new Error(`map seed ${m.seed}: no free position with clearance ${clearance}`);
}

/** Distance from (x, y) to the nearest wall cell (0 inside a wall), checking the 5×5 cell neighbourhood. */
export function wallClearance(m: GridMap, x: number, y: number): number {
  const cx = Math.floor(x), cy = Math.floor(y);
  if (cellAt(m, cx, cy) !== 0) return 0;
  let best = Infinity;
  for (let j = cy - 2; j <= cy + 2; j++) for (let i = cx - 2; i <= cx + 2; i++) {
    if (cellAt(m, i, j) === 0) continue;
    const dx = Math.max(i - x, 0, x - (i + 1)), dy = Math.max(j - y, 0, y - (j + 1));
    best = Math.min(best, Math.hypot(dx, dy));
  }
  return best;
}
