/**
 * Poster images: emoji PNGs from `emoji-datasource-google`, read once with sharp, resized to
 * POSTER × POSTER RGBA and cached. The set is a seeded choice of `count` emoji (same seed → same set),
 * so maps name posters by index.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { Rng, emojiPackageDir } from '@raev2/core';

export const POSTER = 24;

/** RGBA bytes [POSTER, POSTER, 4]. */
export type PosterImage = Uint8Array;

export interface PosterSet {
  names: string[];
  images: PosterImage[];
}

const cache = new Map<string, Promise<PosterSet>>();

/** Load `count` emoji posters chosen by `seed` (cached per (count, seed)). */
export function loadPosters(count = 48, seed = 0): Promise<PosterSet> {
  const key = `${count}:${seed}`;
  let p = cache.get(key);
  if (p == null) cache.set(key, (p = readPosters(count, seed)));
  return p;
}

async function readPosters(count: number, seed: number): Promise<PosterSet> {
  const dir = path.join(emojiPackageDir('google'), 'img', 'google', '64');
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.png')).sort();
  } catch (e) {
    throw new Error(`cannot list the emoji posters in ${dir}: ${(e as Error).message}`);
  }
  // single code-point emoji only (no flags, keycaps, skin tones): clearer landmarks
  const plain = files.filter((f) => /^1f[0-9a-f]{3}\.png$/.test(f));
  if (plain.length < count) throw new Error(`only ${plain.length} emoji images in ${dir}, ${count} posters asked`);
  const order = new Rng(seed + 101).permutation(plain.length).slice(0, count);
  const names = order.map((i) => plain[i].replace(/\.png$/, ''));
  const images = await Promise.all(order.map(async (i) => {
    const file = path.join(dir, plain[i]);
    try {
      const { data } = await sharp(file).ensureAlpha().resize(POSTER, POSTER, { kernel: 'lanczos3' }).raw().toBuffer({ resolveWithObject: true });
      return new Uint8Array(data);
    } catch (e) {
      throw new Error(`cannot read emoji poster ${file}: ${(e as Error).message}`);
    }
  }));
  return { names, images };
}
