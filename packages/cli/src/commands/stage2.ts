/**
 * `raev2 stage2 train`: flags → a validated stage-2 config → the stage-2 run (runs/stage2.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { initRuntime, parseFlags, parseStopAt, reportEarlyStop, STOP_AT_USAGE, readJsonFile, mergeConfig, parseStage2Config, readMetrics, stepsToReach, DATA_SOURCE_HELP, METRICS_FILE, type Command, type MetricsRecord, type Stage2Config } from '@raev2/core';
import { runStage2Train } from '../runs/stage2.js';
import { flagsToConfig, parseResume, stringFlags, type FlagSpec } from './flags.js';

// ---------------------------------------------------------------- flags

/** Flag → config path and kind. */
const TRAIN_FLAGS: Record<string, FlagSpec> = {
  stage1: { to: ['stage1'], kind: 'string' },
  encoder: { to: ['encoder'], kind: 'string' },
  'image-size': { to: ['imageSize'], kind: 'number' },
  stats: { to: ['stats'], kind: 'string' },
  data: { to: ['data'], kind: 'string' },
  classes: { to: ['classes'], kind: 'list' },
  'held-out': { to: ['heldOut'], kind: 'number' },
  'split-seed': { to: ['splitSeed'], kind: 'number' },
  'max-images': { to: ['maxImages'], kind: 'number' },
  preset: { to: ['model', 'preset'], kind: 'string' },
  conditioning: { to: ['model', 'conditioning'], kind: 'string' },
  prediction: { to: ['model', 'prediction'], kind: 'string' },
  'hidden-size': { to: ['model', 'hiddenSize'], kind: 'pair' },
  depth: { to: ['model', 'depth'], kind: 'pair' },
  heads: { to: ['model', 'numHeads'], kind: 'pair' },
  'base-depth': { to: ['model', 'baseDepth'], kind: 'number|none', none: 'none' },
  'repa-depth': { to: ['model', 'repa', 'depth'], kind: 'number' },
  'repa-weight': { to: ['model', 'repa', 'weight'], kind: 'number' },
  'time-dist': { to: ['transport', 'timeDist'], kind: 'string' },
  shift: { to: ['transport', 'shift'], kind: 'number|none' },
  't-eps': { to: ['transport', 'tEps'], kind: 'number' },
  'condition-dropout': { to: ['conditionDropout'], kind: 'number' },
  'label-dropout': { to: ['labelDropout'], kind: 'number' },
  optimizer: { to: ['optimizer', 'name'], kind: 'string' },
  lr: { to: ['optimizer', 'lr'], kind: 'number' },
  'weight-decay': { to: ['optimizer', 'weightDecay'], kind: 'number' },
  schedule: { to: ['schedule', 'kind'], kind: 'string' },
  'warmup-steps': { to: ['schedule', 'warmupSteps'], kind: 'number' },
  'final-lr': { to: ['schedule', 'finalLr'], kind: 'number' },
  'grad-clip': { to: ['gradClip'], kind: 'number|none' },
  ema: { to: ['ema'], kind: 'number' },
  'ema-warmup': { to: ['emaWarmup'], kind: 'switch' },
  batch: { to: ['batchSize'], kind: 'number' },
  epochs: { to: ['epochs'], kind: 'number' },
  steps: { to: ['steps'], kind: 'number' },
  latents: { to: ['latents'], kind: 'string' },
  'cache-dir': { to: ['cacheDir'], kind: 'string' },
  'encode-batch': { to: ['encodeBatch'], kind: 'number' },
  seed: { to: ['seed'], kind: 'number' },
  out: { to: ['out'], kind: 'string' },
  'checkpoint-every': { to: ['checkpointEvery'], kind: 'number' },
  'log-every': { to: ['logEvery'], kind: 'number' },
  keep: { to: ['keep'], kind: 'number' },
  'sample-every': { to: ['samples', 'every'], kind: 'number' },
  'sample-per-class': { to: ['samples', 'perClass'], kind: 'number' },
  'sample-steps': { to: ['samples', 'steps'], kind: 'number' },
  'sample-guidance': { to: ['samples', 'guidance', 'method'], kind: 'string' },
  'sample-cfg-scale': { to: ['samples', 'guidance', 'cfgScale'], kind: 'number' },
  'sample-free-scale': { to: ['samples', 'guidance', 'freeScale'], kind: 'number' },
  'metric-every': { to: ['metrics', 'every'], kind: 'number|none' },
  'metric-count': { to: ['metrics', 'count'], kind: 'number' },
  'metric-steps': { to: ['metrics', 'steps'], kind: 'number' },
  'metric-spaces': { to: ['metrics', 'spaces'], kind: 'list' },
  'metric-guidance': { to: ['metrics', 'guidance', 'method'], kind: 'string' },
  'metric-cfg-scale': { to: ['metrics', 'guidance', 'cfgScale'], kind: 'number' },
  'metric-free-scale': { to: ['metrics', 'guidance', 'freeScale'], kind: 'number' },
  probe: { to: ['metrics', 'probe'], kind: 'switch' },
};

const TRAIN_USAGE = `usage: raev2 stage2 train --stage1 <run dir> --data <source> --out <run dir> [--config run.json] [flags]
       raev2 stage2 train --encoder <spec> --stats <stats.safetensors> --data <source> --out <run dir> [flags]

Trains a DiT^DH on standardised RAE latents with flow matching (docs/method.md, stage 2): in-context (RAEv2) or adaLN
(RAE) conditioning, x- or v-prediction, base head (free guidance) and optional REPA, AdamW or Muon,
EMA. Latents are cached once in <out>/latents (keyed: a stale cache is rejected). Checkpoints and
resumes in --out (Ctrl-C checkpoints); writes samples/ (per-class grids) and metrics.jsonl
(FD per feature space, FD_r, probe accuracy of generated samples) for "steps to reach FD ≤ k".

  --config <file.json>   config file (camelCase fields; nested model{}, transport{}, optimizer{}, schedule{}, samples{}, metrics{}); flags override it
  --stage1               a finished \`raev2 stage1 train\` directory (decoder, stats.safetensors, encoder spec)
  --encoder --stats      instead of --stage1: encoder spec and latent statistics file (no decoder: no image samples)
  --data                 ${DATA_SOURCE_HELP}
  --classes a,b,…        keep only these classes   --held-out (default 0.1) --split-seed --max-images --image-size
  --out                  run directory
  --preset               tiny | small | S | B | L | XL (default tiny)   --hidden-size D,Dh --depth L,H --heads h,hh
  --conditioning         in-context | adaln        --prediction x | v
  --base-depth <d|none>  base head after body block d (free guidance)   --repa-depth <d> --repa-weight 0.5
  --time-dist logit-normal|uniform   --shift <s|auto>   --t-eps 0.05 (x → v clamp, training and sampling)
  --condition-dropout 0.1   CFG dropout to the null class (old name --label-dropout)
  --optimizer adamw|muon --lr 2e-4 --weight-decay 0 --schedule constant|linear|cosine --warmup-steps --final-lr
  --grad-clip <1|none>   --ema 0.9995 --ema-warmup on|off
  --batch --epochs --steps --seed --latents cache|online --cache-dir --encode-batch --recache
  --checkpoint-every --log-every --keep
  --sample-every --sample-per-class --sample-steps --sample-guidance none|cfg|free|free+cfg --sample-cfg-scale --sample-free-scale
  --metric-every <n|none> --metric-count --metric-steps --metric-spaces latent,mobilenetv2 --probe on|off
  --metric-guidance none|cfg|free|free+cfg --metric-cfg-scale --metric-free-scale   (autoguidance needs a second model: raev2 sample --weak)
  --resume auto|no|<checkpoint dir>   continue from the latest checkpoint in --out (auto), start fresh (no), or from a checkpoint
${STOP_AT_USAGE}`;

/** Parse `stage2 train` argv into a validated config and options. */
export function parseStage2TrainArgs(argv: string[]): { config: Stage2Config; resume: boolean | string; recache: boolean; stopAt?: number } {
  const opts = { ...stringFlags([...Object.keys(TRAIN_FLAGS), 'config', 'resume', 'stop-at']), recache: { type: 'boolean' as const } };
  const f = parseFlags(argv, opts, z.record(z.string(), z.union([z.string(), z.boolean()]).optional()), 'stage2 train') as Record<string, string | boolean | undefined>;
  const cfgFile = typeof f.config === 'string' ? f.config : undefined;
  const file = cfgFile != null ? readJsonFile(z.record(z.string(), z.unknown()), cfgFile) : {};
  const merged = mergeConfig(file, flagsToConfig(f, TRAIN_FLAGS));
  const config = parseStage2Config(merged, cfgFile != null ? `stage-2 config (${cfgFile} + flags)` : 'stage-2 config (flags)');
  const resume = parseResume(typeof f.resume === 'string' ? f.resume : undefined, fs.existsSync);
  const stopAt = parseStopAt(typeof f['stop-at'] === 'string' ? f['stop-at'] : undefined, 'stage2 train');
  return { config, resume, recache: f.recache === true, stopAt };
}

/** A one-line summary of a metrics record. */
export function formatMetrics(r: MetricsRecord): string {
  const fd = Object.entries(r.fd).map(([k, v]) => `FD[${k}] ${v.toFixed(3)}${r.fdHeldOut ? ` (held-out ${r.fdHeldOut[k].toFixed(3)})` : ''}`).join(', ');
  const probe = r.probeAccuracy != null ? `, probe acc ${(100 * r.probeAccuracy).toFixed(1)}%${r.probeHeldOutAccuracy != null ? ` (real held-out ${(100 * r.probeHeldOutAccuracy).toFixed(1)}%)` : ''}` : '';
  return `step ${r.step}: ${fd}${r.fdr != null ? `, FD_r ${r.fdr.toFixed(3)}` : ''}${probe}, ${r.count} samples × ${r.nfePerImage} NFE${r.nfePerStep != null ? ` (${r.nfePerStep} per step)` : ''}, ${r.guidance} (${r.seconds.toFixed(1)} s)`;
}

export const stage2TrainCommand: Command = {
  name: 'stage2 train',
  summary: 'train the latent DiT^DH (flow matching) on RAE latents, with samples, generation metrics, checkpoints and resume',
  usage: TRAIN_USAGE,
  async run(argv) {
    const { config, resume, recache, stopAt } = parseStage2TrainArgs(argv);
    await initRuntime();
    const r = await runStage2Train(config, {
      resume,
      recache,
      stopAt,
      onStart: (i) => process.stderr.write(`stage 2: latent ${i.resolved.grid.join('×')}×${i.resolved.channels}, shift ${i.resolved.shift.toFixed(3)}, ${i.resolved.classes.length} classes, ${i.trainImages} training / ${i.heldOutImages} held-out images; ` +
        `DiT ${i.resolved.dit.arch} ${(i.parameters / 1e6).toFixed(2)}M parameters; ${i.totalSteps} steps (${(i.totalSteps / i.stepsPerEpoch).toFixed(1)} epochs)\n`),
      onMetrics: (m) => process.stderr.write(`\n${formatMetrics(m)}\n`),
    });
    if (r.interrupted) return reportEarlyStop(r, stopAt);
    const all = readMetrics(path.join(config.out, METRICS_FILE));
    const last = all[all.length - 1];
    if (last) {
      const space = Object.keys(last.fd)[0];
      const floor = last.fdHeldOut?.[space];
      const reach = floor != null ? stepsToReach(all, `fd.${space}`, 2 * floor) : null;
      process.stderr.write(`final ${formatMetrics(last)}\n`);
      if (floor != null) process.stderr.write(`steps to reach FD[${space}] ≤ 2× the held-out floor (${(2 * floor).toFixed(3)}): ${reach ?? 'not reached'}\n`);
    }
    process.stderr.write(`done: ${r.step} steps in ${config.out} (checkpoint ${r.checkpoint})\n`);
  },
};
