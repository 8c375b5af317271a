/** `raev2 navworld train`: the navigation world model on core's generic stage-2 loop. */
import * as fs from 'node:fs';
import { z } from 'zod';
import { initRuntime, parseFlags, reportEarlyStop, STOP_AT_USAGE, UsageError, type Command } from '@raev2/core';
import { parseNavTrainConfig } from '../train/config.js';
import { trainNavWorld } from '../train/train.js';

const Flags = z.object({
  out: z.string({ error: 'is required (run folder)' }).min(1),
  config: z.string().min(1).optional(),
  latents: z.string().min(1).optional(),
  steps: z.coerce.number().int().positive().optional(),
  batch: z.coerce.number().int().positive().optional(),
  lr: z.coerce.number().positive().optional(),
  seed: z.coerce.number().int().nonnegative().optional(),
  'frame-embedding': z.enum(['on', 'off']).optional(),
  'context-rope': z.enum(['on', 'off']).optional(),
  resume: z.enum(['auto', 'no']).default('auto'),
  'stop-at': z.coerce.number().int().positive().optional(),
}).strict();

const usage = `usage: raev2 navworld train --out <run> [--config run.json] [flags]

Trains the DiT^DH to predict a future frame's latent from the last 4 context frames' latents, the
action (target pose in the last context frame: dx, dy / metric step scaled to [−1, 1], dyaw) and the
time offset k/128 (k ~ U{1..8}), with CFG dropout 0.1 to the zero condition. The world is rendered
and encoded on first use (<out>/latents.safetensors) unless --latents names a file. Ctrl-C
checkpoints; the same command continues.

  --out              run folder (required)
  --config <json>    config fields (world{}, encoder, model{}, transport{}, optimizer{}, …); flags override
  --latents <file>   a latent world written before (shared between runs)
  --steps --batch --lr --seed
  --frame-embedding on|off   learned per-slot frame embeddings on the context tokens (RAEv2: off)
  --context-rope on|off      context tokens take the 2-D RoPE angles of their grid cell (RAEv2: off)
  --resume auto|no
${STOP_AT_USAGE}`;

export const trainCommand: Command = {
  name: 'navworld train',
  summary: 'train the navigation world model (frames + action + time offset → future frame)',
  usage,
  async run(argv) {
    const f = parseFlags(argv, Object.fromEntries(['out', 'config', 'latents', 'steps', 'batch', 'lr', 'seed', 'frame-embedding', 'context-rope', 'resume', 'stop-at'].map((k) => [k, { type: 'string' as const }])), Flags, 'navworld train');
    let file: Record<string, unknown> = {};
    if (f.config) {
      try {
        file = JSON.parse(fs.readFileSync(f.config, 'utf8'));
      } catch (e) {
        throw new UsageError(`--config ${f.config}: ${(e as Error).message}`);
      }
    }
    const merged: Record<string, unknown> = { ...file, out: f.out };
    if (f.latents) merged.latents = f.latents;
    if (f.steps) merged.steps = f.steps;
    if (f.batch) merged.batchSize = f.batch;
    if (f.seed != null) merged.seed = f.seed;
    if (f.lr) merged.optimizer = { ...(file.optimizer as object ?? {}), lr: f.lr };
    if (f['frame-embedding']) merged.frameEmbedding = f['frame-embedding'] === 'on';
    if (f['context-rope']) merged.contextRope = f['context-rope'] === 'on';
    const cfg = parseNavTrainConfig(merged, f.config ? `${f.config} + flags` : 'flags');
    await initRuntime();
    const r = await trainNavWorld(cfg, { resume: f.resume === 'auto', handleSignals: true, stopAt: f['stop-at'] });
    if (r.interrupted) reportEarlyStop(r, f['stop-at']);
    console.log(`navworld train: step ${r.step}/${r.totalSteps} → ${r.dir}`);
  },
};
