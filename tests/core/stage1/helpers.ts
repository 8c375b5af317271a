/** Shared pieces of the stage-1 tests: a folder of synthetic PNGs and Stage1Parts around the fake encoder. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { tf, Rng, ImageStore, openDataSource, perceptualLoss, disposeOutput, encodeImages, type Stage1Config, type Stage1Parts, type Tensor } from '@raev2/core';
import { fakeEncoder } from '../rae/fake_encoder.js';

/** `n` smooth synthetic RGB images (gradient + two rectangles) of `size`² px as PNGs in `dir`. */
export async function writeSyntheticImages(dir: string, n: number, size = 16, seed = 0): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const rng = new Rng(seed);
  for (let k = 0; k < n; k++) {
    const px = Buffer.alloc(size * size * 3);
    const base = [rng.random(), rng.random(), rng.random()], grad = [rng.random() - 0.5, rng.random() - 0.5, rng.random() - 0.5];
    const rects = Array.from({ length: 2 }, () => ({ y: rng.int(size - 4), x: rng.int(size - 4), h: 3 + rng.int(6), w: 3 + rng.int(6), c: [rng.random(), rng.random(), rng.random()] }));
    for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) for (let c = 0; c < 3; c++) {
      let v = base[c] + (grad[c] * (i + j)) / size;
      for (const r of rects) if (i >= r.y && i < r.y + r.h && j >= r.x && j < r.x + r.w) v = r.c[c];
      px[(i * size + j) * 3 + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
    }
    await sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toFile(path.join(dir, `img${String(k).padStart(3, '0')}.png`));
  }
}

/** Stage1Parts with the fake 16×16 ViT-like encoder as latent encoder, perceptual net and D backbone. */
export async function fakeParts(cfg: Stage1Config, dim = 16): Promise<Stage1Parts & { dispose(): void }> {
  const enc = fakeEncoder({ layers: 3, dim, patch: 4, size: [16, 16], seed: 3 });
  const feats = (images: Tensor): Tensor[] => {
    const out = encodeImages(enc, images);
    try {
      return [1, 2, 3].map((i) => tf.tidy(() => out.hiddenStates[i].slice([0, 1, 0], [-1, -1, -1])));
    } finally {
      disposeOutput(out);
    }
  };
  const ds = openDataSource(cfg.data);
  const images = await ImageStore.load(ds, [16, 16]);
  return {
    encoder: enc,
    selection: { layers: [0, 1, 2] },
    images,
    perceptual: (a, b) => perceptualLoss(feats, a, b),
    discBackbone: { extract: feats, channels: [dim, dim, dim] },
    dispose: () => enc.dispose(),
  };
}
