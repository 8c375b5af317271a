/**
 * Stage-1 runs: build the concrete networks of a stage-1 config from its spec strings (the latent
 * encoder, the perceptual network, the discriminator backbone, the rFD feature encoder), then train,
 * evaluate or compute latent statistics through core. Everything is validated — config, checkpoint
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
  latentStatsMetadata,
  saveStats,
  disposeStats,
  loadDecoder,
  perceptualLoss,
  probeLatent,
  disposeOutput,
  encodeImages,
  writeFileAtomic,
  assertFinite,
  checkImageSize,
  checkOutput,
  prepareRunDir,
  MAX_IMAGE_SIZE,
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
import { loadEncoder, loadNsfwjsModel, withResolution, type LoadedEncoder } from '@raev2/encoders';

/** MobileNetV2 layers tapped by the default perceptual net: strides 2, 4, 8, 16, 32 (like LPIPS's five VGG stages). */
export const MOBILENET_PERCEPTUAL_TAPS = ['expanded_conv_project_BN', 'block_2_add', 'block_5_add', 'block_12_add', 'block_15_add'];
/** Default rFD feature space: token-mean of MobileNetV2's last stride-32 block (160-d). */
export const DEFAULT_RFD_FEATURES = 'mobilenetv2-nsfwjs[stage=13-15]';

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
    const { encoder, selection } = await loadEncoder(withResolution(cfg.encoder, cfg.imageSize));
    owned.push(encoder);
    const size = decoderOutputSize(cfg, encoder, selection);
    let perceptual: Stage1Parts['perceptual'] = null;
    const net = cfg.perceptual.weight > 0 ? cfg.perceptual.net : 'none';
    if (net.startsWith('lpips:')) {
      const lp = LPIPS.fromFile(net.slice('lpips:'.length));
      owned.push(lp);
      perceptual = (a, b) => lp.loss(a, b);
    } else if (net !== 'none') {
      const fnet = net === 'mobilenetv2' ? await mobilenetFeatureNet() : encoderFeatureNet(await loadEncoder(withResolution(net, cfg.imageSize)));
      owned.push(fnet);
      perceptual = (a, b) => perceptualLoss(fnet.extract, a, b);
    }
    let discBackbone: Stage1Parts['discBackbone'] = null;
    if (cfg.gan.enabled && cfg.gan.weight > 0) {
      const d = encoderFeatureNet(await loadEncoder(withResolution(cfg.gan.backbone, cfg.imageSize)));
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
export async function runStage1Train(cfg: Stage1Config, opts: { resume?: boolean | string; handleSignals?: boolean; stopAt?: number } = {}): Promise<Stage1Result> {
  if (typeof opts.resume === 'string') readCheckpointState(opts.resume); // a bad checkpoint path fails here, before any work
  checkImageSize(cfg.imageSize);
  const lock = prepareRunDir(cfg.out); // the output folder is checked and locked before any work
  try {
    const r = await resolveStage1(cfg);
    try {
      return await trainStage1(cfg, r.parts, opts);
    } finally {
      r.dispose();
    }
  } finally {
    lock.release();
  }
}

/** Options of `stage1 eval` (flag names). */
export const Stage1EvalFlagsSchema = z.object({
  run: z.string({ error: 'is required' }).min(1),
  data: z.string().min(1).optional(),
  'held-out': z.coerce.number().min(0).optional(),
  'split-seed': z.coerce.number().int().min(0).optional(),
  'max-images': z.coerce.number().int().positive().optional(),
  features: z.string().min(1).default(DEFAULT_RFD_FEATURES),
  batch: z.coerce.number().int().positive().default(16),
  json: z.string().min(1).optional(),
  /** Which decoder weights to score: the EMA (what stage 2 uses) or the raw ones, to compare. */
  weights: z.enum(['ema', 'raw']).default('ema'),
});

/** Decoder weights of a finished run. */
export type Stage1Weights = 'ema' | 'raw';

const SummaryFile = z.object({ config: z.record(z.string(), z.unknown()) }).loose();

/** Read `<run>/stage1.json` (validated) — errors say the run is unfinished or not a stage-1 run. */
export function readStage1Summary(run: string): Stage1Summary {
  const file = path.join(run, STAGE1_FILES.summary);
  if (!fs.existsSync(file)) throw new Error(`${run} has no ${STAGE1_FILES.summary}: not a finished stage1 train run (resume it to the end first)`);
  const s = readJsonFile(SummaryFile, file) as unknown as Stage1Summary;
  // a run saved before stage 1 had an EMA warm-up trained without one
  s.config = parseStage1Config({ emaWarmup: false, ...(s.config as Record<string, unknown>) }, `${file} (config)`);
  return s;
}

/** Rebuild a finished run's RAE (encoder from its spec; the EMA decoder from decoder/, or the raw one from decoder-raw/). */
export async function loadStage1Run(run: string, weights: Stage1Weights = 'ema'): Promise<{ rae: RAE; summary: Stage1Summary; dispose(): void }> {
  const summary = readStage1Summary(run);
  const cfg = summary.config;
  const decoderDir = path.join(run, weights === 'ema' ? STAGE1_FILES.decoder : STAGE1_FILES.rawDecoder);
  if (!fs.existsSync(decoderDir)) throw new Error(`${run} has no ${path.basename(decoderDir)}/ (${weights} weights): runs finished before raw weights were exported have only the EMA ones`);
  const { encoder, selection } = await loadEncoder(withResolution(cfg.encoder, cfg.imageSize));
  let rae: RAE | undefined;
  try {
    rae = stage1RAE(cfg, encoder, selection);
    const dec = loadDecoder(decoderDir);
    try {
      rae.decoder.loadStateDict(dec.stateDict(), { source: decoderDir });
      assertFinite(rae.decoder.stateDict(), `decoder weights in ${decoderDir}`);
    } finally {
      dec.dispose();
    }
  } catch (e) {
    rae?.dispose(); // e.g. non-finite or mismatched decoder weights: release what was built
    encoder.dispose();
    throw e;
  }
  const built = rae;
  return { rae: built, summary, dispose: () => { built.dispose(); encoder.dispose(); } };
}

/** Score a finished run on held-out images; returns the summary and writes JSON. */
export async function runStage1Eval(flags: Omit<z.output<typeof Stage1EvalFlagsSchema>, 'weights'> & { weights?: Stage1Weights }): Promise<ReconstructionSummary & { run: string; json: string; weights: Stage1Weights }> {
  const opts = { ...flags, weights: flags.weights ?? 'ema' };
  const summary = readStage1Summary(opts.run);
  const cfg = summary.config;
  checkOutput(opts.json ?? path.join(opts.run, 'eval.json'), { kind: 'file', what: '--json' });
  const ds = openDataSource(opts.data ?? cfg.data);
  const heldOut = opts['held-out'] ?? (opts.data != null ? 0 : cfg.heldOut);
  let images: ImageDataset;
  if (heldOut > 0) images = stage1Split(ds, heldOut, opts['split-seed'] ?? cfg.splitSeed).heldOut!;
  else if (opts.data != null) images = ds;
  else throw new Error(`the run ${opts.run} used every image of ${cfg.data} for training (heldOut 0): pass --held-out, or --data with other images`);
  if (opts['max-images'] != null && opts['max-images'] < images.size) images = stage1Split(images, 0, 0, opts['max-images']).train;
  const features = opts.features === 'none' ? null : (await loadEncoder(opts.features)).encoder;
  const loaded = await loadStage1Run(opts.run, opts.weights).catch((e) => { features?.dispose(); throw e; });
  try {
    const store = await loadImages(images, loaded.rae.imageSize, 'decode eval images');
    const bar = progress({ label: `stage1 eval (${opts.weights} weights)`, total: store.count, unit: 'img' });
    const s = evaluateReconstruction(loaded.rae, store, { batch: opts.batch, featureEncoder: features, onProgress: (n) => bar.update(n) });
    bar.finish();
    const json = opts.json ?? path.join(opts.run, 'eval.json');
    const record = { run: opts.run, weights: opts.weights, data: opts.data ?? cfg.data, heldOut, images: s.count, psnr: s.psnr, ssim: s.ssim, rfd: s.rfd ?? null, features: opts.features, encoder: cfg.encoder };
    writeFileAtomic(json, JSON.stringify(record, null, 2) + '\n');
    return { ...s, run: opts.run, json, weights: opts.weights };
  } finally {
    loaded.dispose();
    features?.dispose();
  }
}

/** Options of `stage1 stats` (flag names). */
export const Stage1StatsFlagsSchema = z.object({
  data: z.string({ error: 'is required' }).min(1),
  out: z.string({ error: 'is required' }).min(1).refine((s) => s.endsWith('.safetensors'), 'must be a .safetensors file'),
  encoder: z.string().min(1).default('mobilenetv2-nsfwjs[layers=last3]'),
  'image-size': z.coerce.number().int().positive().max(MAX_IMAGE_SIZE).optional(),
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
    saveStats(file, stats, latentStatsMetadata({ encoder: o.spec, selection, count: stats.count, data: o.data }));
  } finally {
    disposeStats(stats);
  }
  return stats.count;
}

/** Compute and write latent statistics; returns the number of images. */
export async function runStage1Stats(opts: z.output<typeof Stage1StatsFlagsSchema>): Promise<number> {
  checkOutput(opts.out, { kind: 'file', what: '--out' });
  const ds = stage1Split(openDataSource(opts.data), 0, 0, opts['max-images']).train;
  const loaded = await loadEncoder(withResolution(opts.encoder, opts['image-size']));
  try {
    const store = await loadImages(ds, loaded.encoder.imageSize, 'decode images');
    return writeLatentStats(loaded, store, opts.out, { spec: opts.encoder, data: opts.data, batch: opts.batch, label: 'stage1 stats' });
  } finally {
    loaded.encoder.dispose();
  }
}

