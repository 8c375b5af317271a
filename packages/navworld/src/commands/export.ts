/** `raev2 navworld export`: a trained run + its decoder → a self-contained model folder (fp16, manifest with sha256 and the commands that made it). */
import * as path from 'node:path';
import { z } from 'zod';
import { tf, initRuntime, parseFlags, type Command } from '@raev2/core';
import { loadLatentWorld, worldStats } from '../data/latents.js';
import { loadNavModel, loadWorldRAE } from '../model/load.js';
import { exportNavModel } from '../model/export.js';

const Flags = z.object({
  run: z.string({ error: 'is required (a navworld train run)' }).min(1),
  stage1: z.string({ error: 'is required (the stage-1 decoder run)' }).min(1),
  to: z.string({ error: 'is required (the model folder to write)' }).min(1),
  commands: z.string().optional(),
  scores: z.string().optional(),
}).strict();

const usage = `usage: raev2 navworld export --run <train run> --stage1 <decoder run> --to <folder> [--commands "cmd1 ;; cmd2"] [--scores metrics.json]

Writes dit.safetensors (EMA weights) and decoder.safetensors in fp16 with their configs, the latent
statistics, navworld.json and manifest.json (bytes + sha256 of every file, the commands that made
it, optional scores) — what \`npm run demo -- --task navworld\` loads.`;

export const exportCommand: Command = {
  name: 'navworld export',
  summary: 'export a trained navworld run + decoder as a self-contained fp16 model folder',
  usage,
  async run(argv) {
    const f = parseFlags(argv, Object.fromEntries(Object.keys(Flags.shape).map((k) => [k, { type: 'string' as const }])), Flags, 'navworld export');
    await initRuntime();
    const m = loadNavModel(f.run);
    const world = loadLatentWorld(path.resolve(f.run, m.info.latents));
    const { rae, source, dispose } = await loadWorldRAE(f.stage1, world, m.info.encoder, m.info.size);
    const st = worldStats(world);
    try {
      const scores = f.scores ? JSON.parse((await import('node:fs')).readFileSync(f.scores, 'utf8')) : undefined;
      const manifest = exportNavModel(f.to, m, rae, st, { commands: f.commands ? f.commands.split(';;').map((s) => s.trim()).filter(Boolean) : [], source: { dit: path.relative(process.cwd(), m.checkpoint), decoder: path.relative(process.cwd(), source) }, scores });
      const bytes = Object.values(manifest.files).reduce((s, e) => s + e.bytes, 0);
      console.log(`navworld export: ${Object.keys(manifest.files).length} files, ${(bytes / 1e6).toFixed(2)} MB → ${f.to}`);
    } finally {
      tf.dispose([st.mean!, st.var]);
      dispose();
      m.dit.dispose();
    }
  },
};
