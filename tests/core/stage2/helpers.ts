/** Shared pieces of the stage-2 tests: a class-folder dataset of synthetic PNGs and Stage2Parts around the fake encoder. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import {
  Rng, createRAE, stage2Data, latentStatsOf, ImageStore, disposeStats, probeLatent,
  type Stage2Config, type Stage2Parts, type Encoder, type LatentStats, type RAE,
} from '@raev2/core';
import { fakeEncoder } from '../rae/fake_encoder.js';

export const CLASS_COLOURS: Record<string, [number, number, number]> = { red: [0.9, 0.15, 0.1], green: [0.1, 0.8, 0.2], blue: [0.15, 0.2, 0.9] };

/** `perClass` noisy 16×16 images per class in `<dir>/<class>/` (class = dominant colour + a bright square). */
export async function writeClassImages(dir: string, perClass: number, seed = 0, size = 16): Promise<void> {
  const rng = new Rng(seed);
  for (const [name, c] of Object.entries(CLASS_COLOURS)) {
    const d = path.join(dir, name);
    fs.mkdirSync(d, { recursive: true });
    for (let k = 0; k < perClass; k++) {
      const px = Buffer.alloc(size * size * 3);
      const y0 = rng.int(size - 6), x0 = rng.int(size - 6);
      for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) for (let ch = 0; ch < 3; ch++) {
        const inSquare = i >= y0 && i < y0 + 6 && j >= x0 && j < x0 + 6;
        const v = inSquare ? 0.95 : c[ch] + 0.15 * (rng.random() - 0.5);
        px[(i * size + j) * 3 + ch] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
      await sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toFile(path.join(d, `${k}.png`));
    }
  }
}

export interface FakeStage2 {
  parts: Stage2Parts;
  grid: [number, number];
  channels: number;
  rae: RAE;
  dispose(): void;
}

/** Stage2Parts with the fake 16×16 encoder (grid 4×4, 8 channels, blocks 1–2), statistics over the training split, a tiny decoder and the fake encoder as an image feature space `fake`. */
export async function fakeStage2(cfg: Stage2Config, opts: { statsScale?: number } = {}): Promise<FakeStage2> {
  const encoder: Encoder = fakeEncoder({ layers: 3, dim: 8, patch: 4, size: [16, 16], seed: 3 });
  const selection = { layers: [1, 2] };
  const data = stage2Data(cfg);
  const store = await ImageStore.load(data.train, [16, 16]);
  const s = latentStatsOf(encoder, selection, store, 16);
  let stats: LatentStats = { mean: s.mean, var: s.var };
  if (opts.statsScale != null) {
    stats = { mean: s.mean, var: s.var.mul(opts.statsScale) };
    s.var.dispose();
  }
  const rae = createRAE({ encoder, selection, decoder: { preset: 'tiny', overrides: { decoder_hidden_size: 16, decoder_num_hidden_layers: 1, decoder_num_attention_heads: 2, decoder_intermediate_size: 32 }, rng: new Rng(5) }, stats });
  const { grid, channels } = probeLatent(encoder, selection);
  const parts: Stage2Parts = { encoder, selection, encoderSpec: 'fake-vit[layers=1.2]', imageSize: [16, 16], stats, data, decode: (z) => rae.decode(z), featureEncoders: { fake: encoder } };
  return { parts, grid, channels, rae, dispose: () => { rae.dispose(); encoder.dispose(); } };
}

export { disposeStats };
