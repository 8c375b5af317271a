/** `raev2 navworld rollout`: a long autoregressive rollout on a held-out map, predicted | true side by side, as MP4 (H.264) or GIF. */
import * as path from 'node:path';
import { z } from 'zod';
import { GuidanceFlag } from './guidance.js';
import { initRuntime, parseFlags, writeFileAtomic, type Command } from '@raev2/core';
import { loadLatentWorld } from '../data/latents.js';
import { loadNavModel, loadWorldRAE } from '../model/load.js';
import { longRollout } from '../eval/long_rollout.js';
import { FPS } from '../world/motion.js';
import { sideBySide, writeVideo } from '../video/write.js';

const Flags = z.object({
  run: z.string({ error: 'is required (a navworld train run)' }).min(1),
  stage1: z.string({ error: 'is required (the stage-1 decoder run)' }).min(1),
  out: z.string({ error: 'is required (the .mp4 to write)' }).regex(/\.mp4$/i, 'must end in .mp4 (a .gif is written beside it when no H.264 encoder is found)'),
  seconds: z.coerce.number().positive().max(600).default(30),
  map: z.coerce.number().int().nonnegative().default(0),
  seed: z.coerce.number().int().nonnegative().default(0),
  steps: z.coerce.number().int().positive().default(8),
  block: z.coerce.number().int().positive().optional(),
  guidance: GuidanceFlag,
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
  --block N     frames predicted per model call, 1 … the trained offset (default the trained offset;
                1 = frame by frame)
  --guidance G  none | free:<w> | cfg:<w> | free+cfg:<w>,<w> (default free:1.78; cfg's null condition is all zeros)`;

export const rolloutCommand: Command = {
  name: 'navworld rollout',
  summary: 'roll a navigation world model out on a held-out map and write predicted | true as MP4',
  usage,
  async run(argv) {
    const f = parseFlags(argv, Object.fromEntries(Object.keys(Flags.shape).map((k) => [k, { type: 'string' as const }])), Flags, 'navworld rollout');
    await initRuntime();
    const m = loadNavModel(f.run);
    const world = loadLatentWorld(path.resolve(f.run, m.info.latents));
    const { rae, dispose } = await loadWorldRAE(f.stage1, world, m.info.encoder, m.info.size);
    try {
      const t0 = Date.now();
      const r = await longRollout(m, rae, { seconds: f.seconds, mapIndex: f.map, seed: f.seed, steps: f.steps, guidance: f.guidance, block: f.block });
      const s = m.info.size;
      const pair = sideBySide(r.pred, r.real, s, s);
      const file = await writeVideo(f.out, { width: pair.width, height: s, fps: FPS, frames: pair.frames });
      writeFileAtomic(f.out.replace(/\.mp4$/i, '.json'), JSON.stringify({ run: f.run, checkpoint: m.checkpoint, map: r.map, seconds: f.seconds, frames: r.pred.length, steps: f.steps, block: f.block ?? m.info.maxOffset, guidance: f.guidance, secondsTaken: (Date.now() - t0) / 1000, latentCosine: r.latentCosine }, null, 1) + '\n');
      console.log(`navworld rollout: ${r.pred.length} frames (${f.seconds} s at ${FPS} Hz) → ${file}`);
    } finally {
      dispose();
      m.dit.dispose();
    }
  },
};
