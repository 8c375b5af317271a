/**
 * `raev2 stage1 train | eval | stats`: flags → a validated config → the stage-1 runs (runs/stage1.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { initRuntime, parseFlags, parseStopAt, reportEarlyStop, STOP_AT_USAGE, readJsonFile, mergeConfig, parseStage1Config, formatEvalTable, DATA_SOURCE_HELP, type Command, type Stage1Config } from '@raev2/core';
import { DEFAULT_RFD_FEATURES, Stage1EvalFlagsSchema, Stage1StatsFlagsSchema, runStage1Eval, runStage1Stats, runStage1Train } from '../runs/stage1.js';
import { flagsToConfig, parseResume, stringFlags, type FlagSpec } from './flags.js';

// ---------------------------------------------------------------- train command

/** Flag → config path and kind. */
const TRAIN_FLAGS: Record<string, FlagSpec> = {
  encoder: { to: ['encoder'], kind: 'string' },
  'image-size': { to: ['imageSize'], kind: 'number' },
  data: { to: ['data'], kind: 'string' },
  'held-out': { to: ['heldOut'], kind: 'number' },
  'split-seed': { to: ['splitSeed'], kind: 'number' },
  'max-images': { to: ['maxImages'], kind: 'number' },
  decoder: { to: ['decoder', 'preset'], kind: 'string' },
  batch: { to: ['batchSize'], kind: 'number' },
  epochs: { to: ['epochs'], kind: 'number' },
  steps: { to: ['steps'], kind: 'number' },
  lr: { to: ['lr'], kind: 'number' },
  'final-lr': { to: ['finalLr'], kind: 'number' },
  'warmup-epochs': { to: ['warmupEpochs'], kind: 'number' },
  ema: { to: ['ema'], kind: 'number' },
  'ema-warmup': { to: ['emaWarmup'], kind: 'switch' },
  'noise-tau': { to: ['noiseTau'], kind: 'number' },
  perceptual: { to: ['perceptual', 'net'], kind: 'string' },
  'perceptual-weight': { to: ['perceptual', 'weight'], kind: 'number' },
  gan: { to: ['gan', 'enabled'], kind: 'switch' },
  'gan-weight': { to: ['gan', 'weight'], kind: 'number' },
  'disc-start': { to: ['gan', 'discStart'], kind: 'number' },
  'gan-start': { to: ['gan', 'ganStart'], kind: 'number' },
  'disc-backbone': { to: ['gan', 'backbone'], kind: 'string' },
  cache: { to: ['cache'], kind: 'string' },
  seed: { to: ['seed'], kind: 'number' },
  out: { to: ['out'], kind: 'string' },
  'checkpoint-every': { to: ['checkpointEvery'], kind: 'number' },
  'log-every': { to: ['logEvery'], kind: 'number' },
  'sample-every': { to: ['sampleEvery'], kind: 'number' },
};

const TRAIN_USAGE = `usage: raev2 stage1 train --data <source> --out <run dir> [--config run.json] [flags]

Trains the RAE pixel decoder on a frozen encoder's multi-layer latent (L1 + perceptual + GAN, EMA,
noise augmentation); checkpoints and resumes in --out (Ctrl-C checkpoints); writes samples/, and at
the end decoder/ (EMA weights), stats.safetensors (latent statistics) and stage1.json.

  --config <file.json>   config file (fields as below in camelCase, nested perceptual{}, gan{}, decoder{}); flags override it
  --data                 ${DATA_SOURCE_HELP}
  --out                  run directory
  --encoder              encoder spec (default mobilenetv2-nsfwjs[layers=last3])
  --image-size           input side in px (res= of the encoder spec)
  --held-out             images kept out of training for eval (fraction or count; default 0)   --split-seed, --max-images
  --decoder              preset: tiny | S | B | L | XL (default tiny)
  --batch --epochs --steps --lr --final-lr --warmup-epochs --ema --noise-tau --seed
  --ema-warmup on|off    EMA decay min(ema, (1+t)/(10+t)) at step t, as stage 2 (default on)
  --perceptual           mobilenetv2 | lpips:<vgg16-lpips.safetensors> | <encoder spec> | none   --perceptual-weight
  --gan on|off           --gan-weight --disc-start <epoch> --gan-start <epoch> --disc-backbone <encoder spec>
  --cache latents|none   --checkpoint-every --log-every --sample-every
  --resume auto|no|<checkpoint dir>   continue from the latest checkpoint in --out (auto), start fresh (no), or from a checkpoint
${STOP_AT_USAGE}

A quick CPU run: raev2 stage1 train --data emoji:google --out runs/s1 --image-size 112 --epochs 2 --perceptual none --gan off`;

/** Parse `stage1 train` argv into a validated config and resume choice. */
export function parseTrainArgs(argv: string[]): { config: Stage1Config; resume: boolean | string; stopAt?: number } {
  const f = parseFlags(argv, stringFlags([...Object.keys(TRAIN_FLAGS), 'config', 'resume', 'stop-at']), z.record(z.string(), z.string().optional()), 'stage1 train');
  const file = f.config != null ? readJsonFile(z.record(z.string(), z.unknown()), f.config) : {};
  const merged = mergeConfig(file, flagsToConfig(f, TRAIN_FLAGS));
  let config: Stage1Config;
  try {
    config = parseStage1Config(merged, f.config != null ? `stage-1 config (${f.config} + flags)` : 'stage-1 config (flags)');
  } catch (e) {
    // name the flag beside each config field it sets
    const byPath = new Map(Object.entries(TRAIN_FLAGS).map(([flag, spec]) => [spec.to.join('.'), flag]));
    throw new Error((e as Error).message.replace(/^ {2}([\w.]+):/gm, (m, p: string) => (byPath.has(p) && f[byPath.get(p)!] !== undefined ? `  ${p} (--${byPath.get(p)}):` : m)));
  }
  const resume = parseResume(f.resume, fs.existsSync);
  return { config, resume, stopAt: parseStopAt(f['stop-at'], 'stage1 train') };
}

export const stage1TrainCommand: Command = {
  name: 'stage1 train',
  summary: 'train the RAE decoder on a frozen encoder (L1 + perceptual + GAN), with checkpoints and resume',
  usage: TRAIN_USAGE,
  async run(argv) {
    const { config, resume, stopAt } = parseTrainArgs(argv);
    await initRuntime();
    const r = await runStage1Train(config, { resume, stopAt });
    if (r.interrupted) return reportEarlyStop(r, stopAt);
    process.stderr.write(`done: ${r.step} steps; decoder ${r.decoderDir}, statistics ${r.statsFile}\n`);
  },
};

// ---------------------------------------------------------------- eval command

const EVAL_USAGE = `usage: raev2 stage1 eval --run <run dir> [--data <source>] [--held-out <n>] [--features <spec|none>] [--weights ema|raw] [--json <file>]

Reconstructs held-out images (noise off) with a trained run's EMA decoder (or its raw weights) and prints PSNR, SSIM and
rFD (Fréchet distance in a frozen encoder's pooled-feature space); writes the numbers as JSON.

  --run        a finished stage1 train directory (reads stage1.json and decoder/)
  --data       images to score (default: the run's data, its held-out split); with --data and no --held-out every image is scored
  --held-out   held-out split of --data (fraction or count) with --split-seed (default the run's)
  --max-images score at most this many images
  --features   rFD feature encoder spec (default ${DEFAULT_RFD_FEATURES}; none: skip rFD)
  --batch      images per pass (default 16)
  --weights    ema (default: the EMA decoder, decoder/, what stage 2 uses) | raw (the raw weights, decoder-raw/, to compare)
  --json       output file (default <run>/eval.json)`;

export const stage1EvalCommand: Command = {
  name: 'stage1 eval',
  summary: 'score a trained stage-1 decoder on held-out images: PSNR, SSIM, rFD (JSON + table)',
  usage: EVAL_USAGE,
  async run(argv) {
    const f = parseFlags(argv, stringFlags(Object.keys(Stage1EvalFlagsSchema.shape)), Stage1EvalFlagsSchema, 'stage1 eval');
    await initRuntime();
    const r = await runStage1Eval(f);
    console.log(formatEvalTable([{ name: `${path.basename(path.resolve(r.run))} (${r.weights} weights)`, summary: r }]));
    process.stderr.write(`wrote ${r.json}\n`);
  },
};

// ---------------------------------------------------------------- stats command

const STATS_USAGE = `usage: raev2 stage1 stats --data <source> --out <stats.safetensors> [--encoder <spec>] [--image-size <px>] [--batch 16] [--max-images N]

Per-position, per-channel mean and variance ([N, C]) of the encoder's noise-free multi-layer latent
over the images (Welford, float64), written as safetensors 'mean' / 'var'.`;

export const stage1StatsCommand: Command = {
  name: 'stage1 stats',
  summary: "compute an encoder's latent statistics (per position and channel) over a dataset",
  usage: STATS_USAGE,
  async run(argv) {
    const f = parseFlags(argv, stringFlags(Object.keys(Stage1StatsFlagsSchema.shape)), Stage1StatsFlagsSchema, 'stage1 stats');
    await initRuntime();
    const n = await runStage1Stats(f);
    process.stderr.write(`wrote ${f.out} (${n} images)\n`);
  },
};

