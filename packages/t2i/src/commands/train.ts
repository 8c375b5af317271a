/** `raev2 t2i train`: flags (or --config) → a validated T2I config → trainT2I. */
import * as fs from 'node:fs';
import { z } from 'zod';
import { initRuntime, parseFlags, reportEarlyStop, STOP_AT_USAGE, readJsonFile, mergeConfig, type Command } from '@raev2/core';
import { parseT2ITrainConfig } from '../train/config.js';
import { trainT2I } from '../train/run.js';
import { int, num, onOff, str } from './flags.js';

const USAGE = `usage: raev2 t2i train --text-encoder <spec> --out <run dir> [--config run.json] [flags]

Trains a DiT^DH on captioned images with text conditioning (core's generic stage-2 loop: CFG
dropout 0.1 to the empty prompt, checkpoints, resume, Ctrl-C). Writes <out>/t2i.json beside the
checkpoints; generate with \`raev2 t2i generate --run <out>\`.

  --data emoji | manifest:<file.jsonl> | folder:<dir>   (default emoji: held-out combinations are never trained on)
  --text-encoder <spec>     hf:<folder or hub id> | <model folder> | siglip2-base-patch16-256 …
  --variant text | caption-id | shuffled   (the evaluation baselines: one-hot caption ids, shuffled captions)
  --mask-pads on|off  --keep-pooled on|off  --max-tokens <n>   text condition options
  --group-sampling <α>      a group of n images is drawn ∝ n^α (emoji kinds, a manifest's "group"); default 1
  --steps --batch --lr --seed --checkpoint-every --log-every
  --encoder <spec> --image-size <px> --stats <file>
  --resume auto|no   (default auto: continue from the latest checkpoint in --out)
${STOP_AT_USAGE}`;

const Flags = z
  .object({
    config: z.string().optional(), data: z.string().optional(), 'text-encoder': z.string().optional(), out: z.string().optional(),
    variant: z.string().optional(), 'mask-pads': onOff.optional(), 'keep-pooled': onOff.optional(), 'max-tokens': int.optional(), 'group-sampling': num.optional(),
    steps: int.optional(), batch: int.optional(), lr: num.optional(), seed: int.optional(), 'checkpoint-every': int.optional(), 'log-every': int.optional(),
    encoder: z.string().optional(), 'image-size': int.optional(), stats: z.string().optional(), resume: z.enum(['auto', 'no']).optional(), 'stop-at': int.optional(),
  })
  .strict();

const OPTIONS = Object.fromEntries(['config', 'data', 'text-encoder', 'out', 'variant', 'mask-pads', 'keep-pooled', 'max-tokens', 'group-sampling', 'steps', 'batch', 'lr', 'seed', 'checkpoint-every', 'log-every', 'encoder', 'image-size', 'stats', 'resume', 'stop-at'].map((k) => [k, str]));

/** Flags (over an optional JSON config) → the validated config. */
export function parseT2ITrainArgs(argv: string[]) {
  const f = parseFlags(argv, OPTIONS, Flags, 't2i train');
  const file = f.config != null ? (readJsonFile(z.record(z.string(), z.unknown()), f.config) as Record<string, unknown>) : {};
  const text = Object.fromEntries(Object.entries({ maskPads: f['mask-pads'], keepPooled: f['keep-pooled'], maxTokens: f['max-tokens'] }).filter(([, v]) => v !== undefined));
  const fromFlags = Object.fromEntries(
    Object.entries({
      data: f.data, textEncoder: f['text-encoder'], out: f.out, variant: f.variant, groupSampling: f['group-sampling'], steps: f.steps, batchSize: f.batch, seed: f.seed,
      checkpointEvery: f['checkpoint-every'], logEvery: f['log-every'], encoder: f.encoder, imageSize: f['image-size'], stats: f.stats,
      ...(f.lr != null ? { optimizer: { lr: f.lr } } : {}), ...(Object.keys(text).length ? { text } : {}),
    }).filter(([, v]) => v !== undefined),
  );
  const merged = mergeConfig(file, fromFlags);
  return { config: parseT2ITrainConfig(merged, f.config ? `t2i train config (${f.config} + flags)` : 't2i train config (flags)'), resume: f.resume !== 'no', stopAt: f['stop-at'] };
}

export const t2iTrainCommand: Command = {
  name: 't2i train',
  summary: 'train a text-conditioned DiT^DH (or a baseline) on captioned images',
  usage: USAGE,
  async run(argv) {
    const { config, resume, stopAt } = parseT2ITrainArgs(argv);
    if (config.data.startsWith('manifest:') && !fs.existsSync(config.data.slice(9))) throw new Error(`--data: manifest ${config.data.slice(9)} does not exist`);
    await initRuntime();
    const r = await trainT2I(config, { resume, handleSignals: true, stopAt });
    if (r.interrupted) reportEarlyStop(r, stopAt);
    console.log(`${r.interrupted ? 'stopped' : 'finished'} at step ${r.step}/${r.totalSteps}; checkpoints in ${r.dir}`);
  },
};
