/**
 * `raev2 stage2 train`: latent-diffusion training on a stage-1 run's RAE latents (or an encoder spec
 * with a statistics file). It lives here because it builds concrete encoders from spec strings.
 * Everything — config, data source, encoder, statistics shape, model sizes against the latent,
 * checkpoint to resume — is validated before any latent is computed or any file is written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import {
  initRuntime,
  parseFlags,
  readJsonFile,
  readCheckpointState,
  mergeConfig,
  parseStage2Config,
  planStage2,
  trainStage2,
  stage2Data,
  loadStats,
  probeLatent,
  readMetrics,
  stepsToReach,
  DATA_SOURCE_HELP,
  METRICS_FILE,
  STAGE1_FILES,
  UsageError,
  type Command,
  type Encoder,
  type LatentStats,
  type LayerSelection,
  type MetricsRecord,
  type Stage2Config,
  type Stage2Parts,
  type Stage2Result,
  type Stage2RunOptions,
  type Tensor,
} from '@raev2/core';
import { formatEncoderSpec, loadEncoder, parseEncoderSpec } from '../spec.js';
import { DEFAULT_RFD_FEATURES, loadStage1Run, withRes } from './stage1.js';

/** Metric space names that stand for a default feature encoder spec. */
export const FEATURE_SPACE_ALIASES: Record<string, string> = { mobilenetv2: DEFAULT_RFD_FEATURES };

/** Everything a run needs, resolved and validated; `dispose` releases the networks. */
export interface ResolvedStage2 {
  parts: Stage2Parts;
  grid: [number, number];
  channels: number;
  dispose(): void;
}

/** Build the encoder (and decoder), statistics, data splits and feature encoders of a config — throws before any output is written. */
export async function resolveStage2(cfg: Stage2Config): Promise<ResolvedStage2> {
  const owned: { dispose(): void }[] = [];
  const dispose = () => owned.reverse().forEach((o) => o.dispose());
  try {
    const data = stage2Data(cfg);
    let encoder: Encoder, selection: LayerSelection, imageSize: [number, number], encoderSpec: string;
    let decode: Stage2Parts['decode'] = null;
    let stats: LatentStats;
    let grid: [number, number], channels: number;
    if (cfg.stage1 != null) {
      const run = await loadStage1Run(cfg.stage1);
      owned.push(run);
      const s1 = run.summary.config;
      const spec1 = canonicalSpec(withRes(s1.encoder, s1.imageSize));
      encoderSpec = spec1;
      if (cfg.encoder != null && canonicalSpec(withRes(cfg.encoder, cfg.imageSize ?? s1.imageSize)) !== spec1) {
        throw new Error(`encoder ${cfg.encoder} differs from the stage-1 run's ${spec1} (${cfg.stage1}); leave --encoder out to use the run's`);
      }
      if (cfg.imageSize != null && run.rae.imageSize[0] !== cfg.imageSize) throw new Error(`imageSize ${cfg.imageSize} differs from the stage-1 run's ${run.rae.imageSize[0]} px`);
      ({ encoder, selection } = run.rae);
      imageSize = run.rae.imageSize;
      grid = run.rae.grid;
      channels = run.rae.channels;
      stats = loadStats(cfg.stats ?? path.join(cfg.stage1, STAGE1_FILES.stats), [grid[0] * grid[1], channels]);
      run.rae.setStats(stats); // the RAE owns (and disposes) them from here
      const rae = run.rae;
      decode = (z: Tensor) => rae.decode(z);
    } else {
      const spec = withRes(cfg.encoder!, cfg.imageSize);
      const loaded = await loadEncoder(spec);
      owned.push(loaded.encoder);
      ({ encoder, selection } = loaded);
      encoderSpec = canonicalSpec(spec);
      imageSize = encoder.imageSize;
      ({ grid, channels } = probeLatent(encoder, selection));
      stats = loadStats(cfg.stats!, [grid[0] * grid[1], channels]);
      const st = stats;
      owned.push({ dispose: () => { st.mean?.dispose(); st.var.dispose(); } });
    }
    const featureEncoders: Record<string, Encoder> = {};
    for (const name of cfg.metrics.spaces) {
      if (name === 'latent' || featureEncoders[name]) continue;
      const fe = (await loadEncoder(FEATURE_SPACE_ALIASES[name] ?? name)).encoder;
      owned.push(fe);
      featureEncoders[name] = fe;
    }
    const parts: Stage2Parts = { encoder, selection, encoderSpec, imageSize, stats, data, decode, featureEncoders };
    planStage2(cfg, parts, grid, channels); // model sizes vs the latent, metric spaces: fail now
    return { parts, grid, channels, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}

function canonicalSpec(spec: string): string {
  return formatEncoderSpec(parseEncoderSpec(spec));
}

/** Train from a validated config; `resume` as runTraining. */
export async function runStage2Train(cfg: Stage2Config, opts: Stage2RunOptions = {}): Promise<Stage2Result> {
  if (typeof opts.resume === 'string') readCheckpointState(opts.resume); // a bad checkpoint path fails here, before any work
  const r = await resolveStage2(cfg);
  try {
    return await trainStage2(cfg, r.parts, r.grid, r.channels, opts);
  } finally {
    r.dispose();
  }
}

// ---------------------------------------------------------------- flags

type Kind = 'string' | 'number' | 'switch' | 'list' | 'pair' | 'number|word';
/** Flag → config path and kind. */
const TRAIN_FLAGS: Record<string, { to: string[]; kind: Kind }> = {
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
  'base-depth': { to: ['model', 'baseDepth'], kind: 'number|word' },
  'repa-depth': { to: ['model', 'repa', 'depth'], kind: 'number' },
  'repa-weight': { to: ['model', 'repa', 'weight'], kind: 'number' },
  'time-dist': { to: ['transport', 'timeDist'], kind: 'string' },
  shift: { to: ['transport', 'shift'], kind: 'number|word' },
  'label-dropout': { to: ['labelDropout'], kind: 'number' },
  optimizer: { to: ['optimizer', 'name'], kind: 'string' },
  lr: { to: ['optimizer', 'lr'], kind: 'number' },
  'weight-decay': { to: ['optimizer', 'weightDecay'], kind: 'number' },
  schedule: { to: ['schedule', 'kind'], kind: 'string' },
  'warmup-steps': { to: ['schedule', 'warmupSteps'], kind: 'number' },
  'final-lr': { to: ['schedule', 'finalLr'], kind: 'number' },
  'grad-clip': { to: ['gradClip'], kind: 'number|word' },
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
  'metric-every': { to: ['metrics', 'every'], kind: 'number|word' },
  'metric-count': { to: ['metrics', 'count'], kind: 'number' },
  'metric-steps': { to: ['metrics', 'steps'], kind: 'number' },
  'metric-spaces': { to: ['metrics', 'spaces'], kind: 'list' },
  'metric-guidance': { to: ['metrics', 'guidance', 'method'], kind: 'string' },
  probe: { to: ['metrics', 'probe'], kind: 'switch' },
};

const TRAIN_USAGE = `usage: raev2 stage2 train --stage1 <run dir> --data <source> --out <run dir> [--config run.json] [flags]
       raev2 stage2 train --encoder <spec> --stats <stats.safetensors> --data <source> --out <run dir> [flags]

Trains a DiT^DH on standardised RAE latents with flow matching (SPEC §2): in-context (RAEv2) or adaLN
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
  --time-dist logit-normal|uniform   --shift <s|auto>   --label-dropout 0.1
  --optimizer adamw|muon --lr 2e-4 --weight-decay 0 --schedule constant|linear|cosine --warmup-steps --final-lr
  --grad-clip <1|none>   --ema 0.9995 --ema-warmup on|off
  --batch --epochs --steps --seed --latents cache|online --cache-dir --encode-batch --recache
  --checkpoint-every --log-every --keep
  --sample-every --sample-per-class --sample-steps --sample-guidance none|cfg|free|free+cfg
  --metric-every <n|none> --metric-count --metric-steps --metric-spaces latent,mobilenetv2 --metric-guidance --probe on|off
  --resume auto|no|<checkpoint dir>   continue from the latest checkpoint in --out (auto), start fresh (no), or from a checkpoint`;

/** parseArgs options for string flags. */
export const stringFlags = (names: string[]) => Object.fromEntries(names.map((n) => [n, { type: 'string' as const }]));

/** Flags → a partial config (values converted; unparsable ones stay strings so zod names the field). */
function flagsToConfig(values: Record<string, string | boolean | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [flag, spec] of Object.entries(TRAIN_FLAGS)) {
    const v = values[flag];
    if (v === undefined || typeof v === 'boolean') continue;
    const num = (s: string) => (s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s);
    let value: unknown = v;
    if (spec.kind === 'number') value = num(v);
    else if (spec.kind === 'number|word') value = v === 'none' ? (flag === 'base-depth' ? 'none' : null) : num(v);
    else if (spec.kind === 'list') value = v.split(',').map((s) => s.trim()).filter(Boolean);
    else if (spec.kind === 'pair') value = v.split(',').map((s) => num(s));
    else if (spec.kind === 'switch') {
      if (!['on', 'off', 'true', 'false'].includes(v)) throw new UsageError(`--${flag} ${v}: expected on or off`);
      value = v === 'on' || v === 'true';
    }
    let o = out;
    for (const k of spec.to.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
    o[spec.to[spec.to.length - 1]] = value;
  }
  return out;
}

/** Parse `stage2 train` argv into a validated config and options. */
export function parseStage2TrainArgs(argv: string[]): { config: Stage2Config; resume: boolean | string; recache: boolean } {
  const opts = { ...stringFlags([...Object.keys(TRAIN_FLAGS), 'config', 'resume']), recache: { type: 'boolean' as const } };
  const f = parseFlags(argv, opts, z.record(z.string(), z.union([z.string(), z.boolean()]).optional()), 'stage2 train') as Record<string, string | boolean | undefined>;
  const cfgFile = typeof f.config === 'string' ? f.config : undefined;
  const file = cfgFile != null ? readJsonFile(z.record(z.string(), z.unknown()), cfgFile) : {};
  const merged = mergeConfig(file, flagsToConfig(f));
  const config = parseStage2Config(merged, cfgFile != null ? `stage-2 config (${cfgFile} + flags)` : 'stage-2 config (flags)');
  const r = typeof f.resume === 'string' ? f.resume : 'auto';
  const resume = r === 'auto' ? true : r === 'no' ? false : r;
  if (typeof resume === 'string' && !fs.existsSync(resume)) throw new UsageError(`--resume ${resume}: no such checkpoint directory`);
  return { config, resume, recache: f.recache === true };
}

/** A one-line summary of a metrics record. */
export function formatMetrics(r: MetricsRecord): string {
  const fd = Object.entries(r.fd).map(([k, v]) => `FD[${k}] ${v.toFixed(3)}${r.fdHeldOut ? ` (held-out ${r.fdHeldOut[k].toFixed(3)})` : ''}`).join(', ');
  const probe = r.probeAccuracy != null ? `, probe acc ${(100 * r.probeAccuracy).toFixed(1)}%${r.probeHeldOutAccuracy != null ? ` (real held-out ${(100 * r.probeHeldOutAccuracy).toFixed(1)}%)` : ''}` : '';
  return `step ${r.step}: ${fd}${r.fdr != null ? `, FD_r ${r.fdr.toFixed(3)}` : ''}${probe}, ${r.count} samples × ${r.nfePerImage} NFE, ${r.guidance} (${r.seconds.toFixed(1)} s)`;
}

export const stage2TrainCommand: Command = {
  name: 'stage2 train',
  summary: 'train the latent DiT^DH (flow matching) on RAE latents, with samples, generation metrics, checkpoints and resume',
  usage: TRAIN_USAGE,
  async run(argv) {
    const { config, resume, recache } = parseStage2TrainArgs(argv);
    await initRuntime();
    const r = await runStage2Train(config, {
      resume,
      recache,
      onStart: (i) => process.stderr.write(`stage 2: latent ${i.resolved.grid.join('×')}×${i.resolved.channels}, shift ${i.resolved.shift.toFixed(3)}, ${i.resolved.classes.length} classes, ${i.trainImages} training / ${i.heldOutImages} held-out images; ` +
        `DiT ${i.resolved.dit.arch} ${(i.parameters / 1e6).toFixed(2)}M parameters; ${i.totalSteps} steps (${(i.totalSteps / i.stepsPerEpoch).toFixed(1)} epochs)\n`),
      onMetrics: (m) => process.stderr.write(`\n${formatMetrics(m)}\n`),
    });
    if (r.interrupted) {
      process.stderr.write(`stopped at step ${r.step}/${r.totalSteps}; run the same command again to resume\n`);
      process.exitCode = 130;
      return;
    }
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
