/**
 * `raev2 stage1 train | eval | stats`: the stage-1 commands. They live here (not in core) because
 * they build concrete encoders from spec strings: the latent encoder, the perceptual network, the
 * discriminator backbone and the rFD feature encoder. Everything is validated — config, checkpoint
 * path, data source, every image — before any output is written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import {
  tf,
  initRuntime,
  parseFlags,
  progress,
  readJsonFile,
  readCheckpointState,
  mergeConfig,
  parseStage1Config,
  openDataSource,
  stage1Split,
  ImageStore,
  trainStage1,
  stage1RAE,
  evaluateReconstruction,
  formatEvalTable,
  latentStatsOf,
  saveStats,
  disposeStats,
  loadDecoder,
  perceptualLoss,
  probeLatent,
  disposeOutput,
  encodeImages,
  writeFileAtomic,
  LPIPS,
  DATA_SOURCE_HELP,
  STAGE1_FILES,
  UsageError,
  type Command,
  type Encoder,
  type FeatureExtractor,
  type ImageDataset,
  type LayerSelection,
  type RAE,
  type ReconstructionSummary,
  type Stage1Config,
  type Stage1Parts,
  type Stage1Result,
  type Stage1Summary,
} from '@raev2/core';
import { formatEncoderSpec, loadEncoder, parseEncoderSpec, type LoadedEncoder } from '../spec.js';
import { loadNsfwjsModel } from '../cnn/nsfwjs_bundle.js';

/** MobileNetV2 layers tapped by the default perceptual net: strides 2, 4, 8, 16, 32 (like LPIPS's five VGG stages). */
export const MOBILENET_PERCEPTUAL_TAPS = ['expanded_conv_project_BN', 'block_2_add', 'block_5_add', 'block_12_add', 'block_15_add'];
/** Default rFD feature space: token-mean of MobileNetV2's last stride-32 block (160-d). */
export const DEFAULT_RFD_FEATURES = 'mobilenetv2-nsfwjs[stage=13-15]';

/** `spec` with `res=<px>` added when it sets none and `px` is given. */
export function withRes(spec: string, px?: number): string {
  if (px == null) return spec;
  const s = parseEncoderSpec(spec);
  if (s.res != null) return spec;
  s.options.res = String(px);
  return formatEncoderSpec(s);
}

/** A frozen network as a feature extractor, plus its release. */
export interface FeatureNet {
  extract: FeatureExtractor;
  /** Channel width of each returned map. */
  channels: number[];
  dispose(): void;
}

/** Multi-scale MobileNetV2 (nsfwjs, offline) maps NHWC for images NHWC [0,1]. */
export async function mobilenetFeatureNet(taps = MOBILENET_PERCEPTUAL_TAPS): Promise<FeatureNet> {
  const model = await loadNsfwjsModel('mobilenet_v2', taps);
  const outs = model.outputs.map((o) => o.shape[3] as number);
  return {
    extract: (images) => {
      const y = model.predict(images, { batchSize: images.shape[0] });
      return Array.isArray(y) ? y : [y];
    },
    channels: outs,
    dispose: () => model.dispose(),
  };
}

/** An encoder's selected blocks as token maps [B, T, C] (prefix tokens dropped). */
export function encoderFeatureNet(loaded: LoadedEncoder): FeatureNet {
  const { encoder, selection } = loaded;
  return {
    extract: (images) => {
      const out = encodeImages(encoder, images);
      try {
        return selection.layers.map((l) => tf.tidy(() => out.hiddenStates[l + 1].slice([0, out.prefixTokens, 0], [-1, -1, -1])));
      } finally {
        disposeOutput(out);
      }
    },
    channels: selection.layers.map(() => encoder.hiddenSize),
    dispose: () => encoder.dispose(),
  };
}

/** Everything a training run needs, resolved and validated; `dispose` releases the networks. */
export interface ResolvedStage1 {
  parts: Stage1Parts;
  train: ImageDataset;
  heldOut: ImageDataset | null;
  dispose(): void;
}

/** Build the encoder, perceptual net, discriminator backbone and decoded images of a config (throws before any output is written). */
export async function resolveStage1(cfg: Stage1Config): Promise<ResolvedStage1> {
  const owned: { dispose(): void }[] = [];
  const dispose = () => owned.reverse().forEach((o) => o.dispose());
  try {
    const ds = openDataSource(cfg.data);
    const { train, heldOut } = stage1Split(ds, cfg.heldOut, cfg.splitSeed, cfg.maxImages);
    const { encoder, selection } = await loadEncoder(withRes(cfg.encoder, cfg.imageSize));
    owned.push(encoder);
    const size = decoderOutputSize(cfg, encoder, selection);
    let perceptual: Stage1Parts['perceptual'] = null;
    const net = cfg.perceptual.weight > 0 ? cfg.perceptual.net : 'none';
    if (net.startsWith('lpips:')) {
      const lp = LPIPS.fromFile(net.slice('lpips:'.length));
      owned.push(lp);
      perceptual = (a, b) => lp.loss(a, b);
    } else if (net !== 'none') {
      const fnet = net === 'mobilenetv2' ? await mobilenetFeatureNet() : encoderFeatureNet(await loadEncoder(withRes(net, cfg.imageSize)));
      owned.push(fnet);
      perceptual = (a, b) => perceptualLoss(fnet.extract, a, b);
    }
    let discBackbone: Stage1Parts['discBackbone'] = null;
    if (cfg.gan.enabled && cfg.gan.weight > 0) {
      const d = encoderFeatureNet(await loadEncoder(withRes(cfg.gan.backbone, cfg.imageSize)));
      owned.push(d);
      discBackbone = { extract: d.extract, channels: d.channels };
    }
    const images = await loadImages(train, size, 'decode train images');
    return { parts: { encoder, selection, images, perceptual, discBackbone }, train, heldOut, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}

/** Output side of the decoder a config builds on this encoder: latent grid × decoder patch. */
function decoderOutputSize(cfg: Stage1Config, encoder: Encoder, selection: LayerSelection): [number, number] {
  const { grid } = probeLatent(encoder, selection);
  const p = Number(cfg.decoder.overrides.patch_size ?? encoder.patchSize);
  return [grid[0] * p, grid[1] * p];
}

async function loadImages(ds: ImageDataset, size: [number, number], label: string): Promise<ImageStore> {
  const bar = progress({ label, total: ds.size, unit: 'img' });
  const store = await ImageStore.load(ds, size, (n) => bar.update(n));
  bar.finish();
  return store;
}

/** Train from a validated config; `resume` as runTraining. */
export async function runStage1Train(cfg: Stage1Config, opts: { resume?: boolean | string; handleSignals?: boolean } = {}): Promise<Stage1Result> {
  if (typeof opts.resume === 'string') readCheckpointState(opts.resume); // a bad checkpoint path fails here, before any work
  const r = await resolveStage1(cfg);
  try {
    return await trainStage1(cfg, r.parts, opts);
  } finally {
    r.dispose();
  }
}

// ---------------------------------------------------------------- train command

/** Flag → config path and kind. */
const TRAIN_FLAGS: Record<string, { to: string[]; kind: 'string' | 'number' | 'switch' }> = {
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
  --perceptual           mobilenetv2 | lpips:<vgg16-lpips.safetensors> | <encoder spec> | none   --perceptual-weight
  --gan on|off           --gan-weight --disc-start <epoch> --gan-start <epoch> --disc-backbone <encoder spec>
  --cache latents|none   --checkpoint-every --log-every --sample-every
  --resume auto|no|<checkpoint dir>   continue from the latest checkpoint in --out (auto), start fresh (no), or from a checkpoint

A quick CPU run: raev2 stage1 train --data emoji:google --out runs/s1 --image-size 112 --epochs 2 --perceptual none --gan off`;

const flagOptions = (names: string[]) => Object.fromEntries(names.map((n) => [n, { type: 'string' as const }]));

/** Flags → a partial config object (numbers converted; unparsable values stay strings so zod names the field). */
function flagsToConfig(values: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [flag, spec] of Object.entries(TRAIN_FLAGS)) {
    const v = values[flag];
    if (v === undefined) continue;
    let value: unknown = v;
    if (spec.kind === 'number') value = v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
    if (spec.kind === 'switch') {
      if (!['on', 'off', 'true', 'false'].includes(v)) throw new UsageError(`--${flag} ${v}: expected on or off`);
      value = v === 'on' || v === 'true';
    }
    let o = out;
    for (const k of spec.to.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
    o[spec.to[spec.to.length - 1]] = value;
  }
  return out;
}

/** Parse `stage1 train` argv into a validated config and resume choice. */
export function parseTrainArgs(argv: string[]): { config: Stage1Config; resume: boolean | string } {
  const f = parseFlags(argv, flagOptions([...Object.keys(TRAIN_FLAGS), 'config', 'resume']), z.record(z.string(), z.string().optional()), 'stage1 train');
  const file = f.config != null ? readJsonFile(z.record(z.string(), z.unknown()), f.config) : {};
  const merged = mergeConfig(file, flagsToConfig(f));
  let config: Stage1Config;
  try {
    config = parseStage1Config(merged, f.config != null ? `stage-1 config (${f.config} + flags)` : 'stage-1 config (flags)');
  } catch (e) {
    // name the flag beside each config field it sets
    const byPath = new Map(Object.entries(TRAIN_FLAGS).map(([flag, spec]) => [spec.to.join('.'), flag]));
    throw new Error((e as Error).message.replace(/^ {2}([\w.]+):/gm, (m, p: string) => (byPath.has(p) && f[byPath.get(p)!] !== undefined ? `  ${p} (--${byPath.get(p)}):` : m)));
  }
  const r = f.resume ?? 'auto';
  const resume = r === 'auto' ? true : r === 'no' ? false : r;
  if (typeof resume === 'string' && !fs.existsSync(resume)) throw new UsageError(`--resume ${resume}: no such checkpoint directory`);
  return { config, resume };
}

export const stage1TrainCommand: Command = {
  name: 'stage1 train',
  summary: 'train the RAE decoder on a frozen encoder (L1 + perceptual + GAN), with checkpoints and resume',
  usage: TRAIN_USAGE,
  async run(argv) {
    const { config, resume } = parseTrainArgs(argv);
    await initRuntime();
    const r = await runStage1Train(config, { resume });
    if (r.interrupted) {
      process.stderr.write(`stopped at step ${r.step}/${r.totalSteps}; run the same command again to resume\n`);
      process.exitCode = 130;
      return;
    }
    process.stderr.write(`done: ${r.step} steps; decoder ${r.decoderDir}, statistics ${r.statsFile}\n`);
  },
};

// ---------------------------------------------------------------- eval command

const EVAL_USAGE = `usage: raev2 stage1 eval --run <run dir> [--data <source>] [--held-out <n>] [--features <spec|none>] [--json <file>]

Reconstructs held-out images (noise off) with a trained run's EMA decoder and prints PSNR, SSIM and
rFD (Fréchet distance in a frozen encoder's pooled-feature space); writes the numbers as JSON.

  --run        a finished stage1 train directory (reads stage1.json and decoder/)
  --data       images to score (default: the run's data, its held-out split); with --data and no --held-out every image is scored
  --held-out   held-out split of --data (fraction or count) with --split-seed (default the run's)
  --max-images score at most this many images
  --features   rFD feature encoder spec (default ${DEFAULT_RFD_FEATURES}; none: skip rFD)
  --batch      images per pass (default 16)
  --json       output file (default <run>/eval.json)`;

const EvalFlags = z.object({
  run: z.string({ error: 'is required' }).min(1),
  data: z.string().min(1).optional(),
  'held-out': z.coerce.number().min(0).optional(),
  'split-seed': z.coerce.number().int().min(0).optional(),
  'max-images': z.coerce.number().int().positive().optional(),
  features: z.string().min(1).default(DEFAULT_RFD_FEATURES),
  batch: z.coerce.number().int().positive().default(16),
  json: z.string().min(1).optional(),
});

const SummaryFile = z.object({ config: z.record(z.string(), z.unknown()) }).loose();

/** Read `<run>/stage1.json` (validated) — errors say the run is unfinished or not a stage-1 run. */
export function readStage1Summary(run: string): Stage1Summary {
  const file = path.join(run, STAGE1_FILES.summary);
  if (!fs.existsSync(file)) throw new Error(`${run} has no ${STAGE1_FILES.summary}: not a finished stage1 train run (resume it to the end first)`);
  const s = readJsonFile(SummaryFile, file) as unknown as Stage1Summary;
  s.config = parseStage1Config(s.config, `${file} (config)`);
  return s;
}

/** Rebuild a finished run's RAE (encoder from its spec, EMA decoder from decoder/). */
export async function loadStage1Run(run: string): Promise<{ rae: RAE; summary: Stage1Summary; dispose(): void }> {
  const summary = readStage1Summary(run);
  const cfg = summary.config;
  const { encoder, selection } = await loadEncoder(withRes(cfg.encoder, cfg.imageSize));
  let rae: RAE;
  try {
    rae = stage1RAE(cfg, encoder, selection);
    const dec = loadDecoder(path.join(run, STAGE1_FILES.decoder));
    try {
      rae.decoder.loadStateDict(dec.stateDict(), { source: path.join(run, STAGE1_FILES.decoder) });
    } finally {
      dec.dispose();
    }
  } catch (e) {
    encoder.dispose();
    throw e;
  }
  return { rae, summary, dispose: () => { rae.dispose(); encoder.dispose(); } };
}

/** Score a finished run on held-out images; returns the summary and writes JSON. */
export async function runStage1Eval(opts: z.output<typeof EvalFlags>): Promise<ReconstructionSummary & { run: string; json: string }> {
  const summary = readStage1Summary(opts.run);
  const cfg = summary.config;
  const ds = openDataSource(opts.data ?? cfg.data);
  const heldOut = opts['held-out'] ?? (opts.data != null ? 0 : cfg.heldOut);
  let images: ImageDataset;
  if (heldOut > 0) images = stage1Split(ds, heldOut, opts['split-seed'] ?? cfg.splitSeed).heldOut!;
  else if (opts.data != null) images = ds;
  else throw new Error(`the run ${opts.run} used every image of ${cfg.data} for training (heldOut 0): pass --held-out, or --data with other images`);
  if (opts['max-images'] != null && opts['max-images'] < images.size) images = stage1Split(images, 0, 0, opts['max-images']).train;
  const features = opts.features === 'none' ? null : (await loadEncoder(opts.features)).encoder;
  const loaded = await loadStage1Run(opts.run).catch((e) => { features?.dispose(); throw e; });
  try {
    const store = await loadImages(images, loaded.rae.imageSize, 'decode eval images');
    const bar = progress({ label: 'stage1 eval', total: store.count, unit: 'img' });
    const s = evaluateReconstruction(loaded.rae, store, { batch: opts.batch, featureEncoder: features, onProgress: (n) => bar.update(n) });
    bar.finish();
    const json = opts.json ?? path.join(opts.run, 'eval.json');
    const record = { run: opts.run, data: opts.data ?? cfg.data, heldOut, images: s.count, psnr: s.psnr, ssim: s.ssim, rfd: s.rfd ?? null, features: opts.features, encoder: cfg.encoder };
    writeFileAtomic(json, JSON.stringify(record, null, 2) + '\n');
    return { ...s, run: opts.run, json };
  } finally {
    loaded.dispose();
    features?.dispose();
  }
}

export const stage1EvalCommand: Command = {
  name: 'stage1 eval',
  summary: 'score a trained stage-1 decoder on held-out images: PSNR, SSIM, rFD (JSON + table)',
  usage: EVAL_USAGE,
  async run(argv) {
    const f = parseFlags(argv, flagOptions(Object.keys(EvalFlags.shape)), EvalFlags, 'stage1 eval');
    await initRuntime();
    const r = await runStage1Eval(f);
    console.log(formatEvalTable([{ name: path.basename(path.resolve(r.run)), summary: r }]));
    process.stderr.write(`wrote ${r.json}\n`);
  },
};

// ---------------------------------------------------------------- stats command

const STATS_USAGE = `usage: raev2 stage1 stats --data <source> --out <stats.safetensors> [--encoder <spec>] [--image-size <px>] [--batch 16] [--max-images N]

Per-position, per-channel mean and variance ([N, C]) of the encoder's noise-free multi-layer latent
over the images (Welford, float64), written as safetensors 'mean' / 'var'.`;

const StatsFlags = z.object({
  data: z.string({ error: 'is required' }).min(1),
  out: z.string({ error: 'is required' }).min(1).refine((s) => s.endsWith('.safetensors'), 'must be a .safetensors file'),
  encoder: z.string().min(1).default('mobilenetv2-nsfwjs[layers=last3]'),
  'image-size': z.coerce.number().int().positive().optional(),
  batch: z.coerce.number().int().positive().default(16),
  'max-images': z.coerce.number().int().positive().optional(),
});

/**
 * Noise-free latent statistics (Welford, with a progress bar) of the images in `store` through the
 * loaded encoder → `file`, with the encoder spec, layers, count and data source as metadata; returns
 * the image count.
 */
export function writeLatentStats(loaded: Pick<LoadedEncoder, 'encoder' | 'selection'>, store: ImageStore, file: string, o: { spec: string; data: string; batch: number; label?: string }): number {
  const { encoder, selection } = loaded;
  const bar = progress({ label: o.label ?? 'latent statistics', total: store.count, unit: 'img' });
  const stats = latentStatsOf(encoder, selection, store, o.batch, (n) => bar.update(n));
  bar.finish();
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    saveStats(file, stats, { encoder: o.spec, layers: selection.layers.join('.'), count: String(stats.count), data: o.data });
  } finally {
    disposeStats(stats);
  }
  return stats.count;
}

/** Compute and write latent statistics; returns the number of images. */
export async function runStage1Stats(opts: z.output<typeof StatsFlags>): Promise<number> {
  const ds = stage1Split(openDataSource(opts.data), 0, 0, opts['max-images']).train;
  const loaded = await loadEncoder(withRes(opts.encoder, opts['image-size']));
  try {
    const store = await loadImages(ds, loaded.encoder.imageSize, 'decode images');
    return writeLatentStats(loaded, store, opts.out, { spec: opts.encoder, data: opts.data, batch: opts.batch, label: 'stage1 stats' });
  } finally {
    loaded.encoder.dispose();
  }
}

export const stage1StatsCommand: Command = {
  name: 'stage1 stats',
  summary: "compute an encoder's latent statistics (per position and channel) over a dataset",
  usage: STATS_USAGE,
  async run(argv) {
    const f = parseFlags(argv, flagOptions(Object.keys(StatsFlags.shape)), StatsFlags, 'stage1 stats');
    await initRuntime();
    const n = await runStage1Stats(f);
    process.stderr.write(`wrote ${f.out} (${n} images)\n`);
  },
};

