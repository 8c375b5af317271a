/** `raev2 navworld rollout`: a long autoregressive rollout on a held-out map, predicted | true side by side, as MP4 (H.264) or GIF. */
import * as path from 'node:path';
import { z } from 'zod';
import { tf, initRuntime, parseFlags, writeFileAtomic, type Command } from '@raev2/core';
import { loadLatentWorld } from '../data/latents.js';
import { loadNavModel, loadWorldRAE } from '../model/load.js';
import { rollout } from '../model/rollout.js';
import { Simulator } from '../eval/frames.js';
import { HELDOUT_MAP_BASE } from '../world/dataset.js';
import { FPS, randomWalk } from '../world/motion.js';
import { sideBySide, writeVideo } from '../video/write.js';
import { cosine } from '../eval/metrics.js';

const Flags = z.object({
  run: z.string({ error: 'is required (a navworld train run)' }).min(1),
  stage1: z.string({ error: 'is required (the stage-1 decoder run)' }).min(1),
  out: z.string({ error: 'is required (the .mp4 to write)' }).regex(/\.mp4$/i, 'must end in .mp4 (a .gif is written beside it when no H.264 encoder is found)'),
  seconds: z.coerce.number().positive().max(600).default(30),
  map: z.coerce.number().int().nonnegative().default(0),
  seed: z.coerce.number().int().nonnegative().default(0),
  steps: z.coerce.number().int().positive().default(8),
  guidance: z.coerce.number().positive().default(1.78),
}).strict();

const usage = `usage: raev2 navworld rollout --run <train run> --stage1 <decoder run> --out rollout.mp4 [flags]

Rolls the model out autoregressively along a new random walk on a held-out map (4 Hz; the context is
the walk's first frames, every later frame is predicted from predictions), and writes predicted | true
frames side by side as H.264 MP4 (GIF where no encoder is found) plus <out>.json with per-step latent
cosine to the true frames. Longer than the trained offset: it warns and proceeds.

  --seconds S   length (default 30)
  --map N       held-out map index (default 0)
  --seed N      walk seed (default 0)
  --steps N     Euler steps per frame (default 8)
  --guidance W  free-guidance scale (default 1.78)`;

export const rolloutCommand: Command = {
  name: 'navworld rollout',
  summary: 'roll a navigation world model out on a held-out map and write predicted | true as MP4',
  usage,
  async run(argv) {
    const f = parseFlags(argv, Object.fromEntries(Object.keys(Flags.shape).map((k) => [k, { type: 'string' as const }])), Flags, 'navworld rollout');
    await initRuntime();
    const m = loadNavModel(f.run);
    const world = loadLatentWorld(path.resolve(f.run, m.info.latents));
    const spec = m.info.world;
    if (f.map >= spec.heldOutMaps) throw new Error(`--map ${f.map}: the world has ${spec.heldOutMaps} held-out maps`);
    const sim = new Simulator(spec);
    const map = sim.map(HELDOUT_MAP_BASE + spec.seed * 1000 + f.map);
    const n = m.info.condition.contextFrames;
    const H = Math.round(f.seconds * FPS);
    const walk = randomWalk(map, 1000 + f.seed, { length: n + H });
    const { rae, dispose } = await loadWorldRAE(f.stage1, world, m.info.encoder, m.info.size);
    try {
      const ctxImg = await sim.images(walk.poses.slice(0, n).map((pose) => ({ map: map.seed, pose })));
      const ctxLat = tf.tidy(() => rae.encode(ctxImg, { noise: false }));
      const cd = ctxLat.dataSync() as Float32Array;
      const fs = cd.length / n;
      const context = Array.from({ length: n }, (_, j) => cd.slice(j * fs, (j + 1) * fs));
      tf.dispose([ctxImg, ctxLat]);
      const t0 = Date.now();
      const [pred] = rollout(m, [context], [walk.poses.slice(n - 1)], { steps: f.steps, guidance: { method: 'free', freeScale: f.guidance, freeInterval: [0.1, 1] }, seed: f.seed });
      const s = m.info.size;
      const predFrames: Uint8Array[] = [], trueFrames: Uint8Array[] = [], cos: number[] = [];
      for (let i = 0; i < H; i += 16) {
        const zs = pred.slice(i, i + 16);
        const img = tf.tidy(() => rae.decode(tf.tensor3d(Float32Array.from(zs.flatMap((z) => Array.from(z))), [zs.length, fs / world.channels, world.channels])).clipByValue(0, 1).mul(255).round().toInt());
        const d = img.dataSync();
        img.dispose();
        for (let k = 0; k < zs.length; k++) predFrames.push(Uint8Array.from(d.subarray(k * s * s * 3, (k + 1) * s * s * 3)));
        const real = await sim.images(walk.poses.slice(n + i, n + i + zs.length).map((pose) => ({ map: map.seed, pose })));
        const rl = tf.tidy(() => rae.encode(real, { noise: false }));
        const rd = rl.dataSync() as Float32Array;
        zs.forEach((z, k) => cos.push(cosine(z, rd.subarray(k * fs, (k + 1) * fs))));
        const rb = tf.tidy(() => real.mul(255).round().toInt());
        const rbd = rb.dataSync();
        for (let k = 0; k < zs.length; k++) trueFrames.push(Uint8Array.from(rbd.subarray(k * s * s * 3, (k + 1) * s * s * 3)));
        tf.dispose([real, rl, rb]);
      }
      const pair = sideBySide(predFrames, trueFrames, s, s);
      const file = await writeVideo(f.out, { width: pair.width, height: s, fps: FPS, frames: pair.frames });
      writeFileAtomic(f.out.replace(/\.mp4$/i, '.json'), JSON.stringify({ run: f.run, checkpoint: m.checkpoint, map: map.seed, seconds: f.seconds, frames: H, steps: f.steps, guidance: f.guidance, seconds_taken: (Date.now() - t0) / 1000, latentCosine: cos }, null, 1) + '\n');
      console.log(`navworld rollout: ${H} frames (${f.seconds} s at ${FPS} Hz) → ${file}`);
    } finally {
      dispose();
      m.dit.dispose();
    }
  },
};
