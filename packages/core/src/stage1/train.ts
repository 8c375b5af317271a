/**
 * `stage1 train` as a function: train the RAE pixel decoder on a frozen encoder's multi-layer latent
 * (docs/method.md, stage 1) with L1 + perceptual + adaptive-weight GAN, AdamW + cosine, EMA, noise
 * augmentation, checkpoints / resume / Ctrl-C (runTraining), sample grids, and at the end the EMA
 * decoder (`decoder/`), the latent statistics (`stats.safetensors`) and `stage1.json` in the run dir.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf, type Tensor } from '../runtime/tf.js';
import { Rng } from '../runtime/rng.js';
import type { Encoder } from '../encoder.js';
import type { LayerSelection } from '../rae/latent.js';
import { createRAE, type RAE } from '../rae/rae.js';
import type { DecoderConfigInput } from '../rae/decoder.js';
import { noiseAugment } from '../rae/noise.js';
import { latentStatsMetadata, latentStatsOf, saveStats, disposeStats } from '../rae/stats.js';
import { Discriminator } from '../rae/losses/discriminator.js';
import { ganPhase, ganSchedule } from '../rae/losses/schedule.js';
import type { FeatureExtractor } from '../rae/losses/perceptual.js';
import { AdamW } from '../train/optim/adamw.js';
import { groupOptimizers, type Optimizer } from '../train/optim/optimizer.js';
import { Ema } from '../train/ema.js';
import { EpochSampler } from '../train/sampler.js';
import { parseSchedule } from '../train/schedule.js';
import { runTraining, type LogRecord } from '../train/loop.js';
import { saveSafetensors, serializeSafetensors, writeFileAtomic } from '../io/safetensors.js';
import { writeDirAtomicSync, writeFileSynced } from '../io/atomic.js';
import { progress } from '../util/progress.js';
import { STAGE1_RESUME_IGNORE, type Stage1Config } from './config.js';
import { stage1Step, type DecoderLossTerms, type Stage1StepParts } from './step.js';
import { emaDecayAt } from '../stage2/index.js';
import { writeImageRows } from './samples.js';
import type { ImageStore } from './images.js';

/** The resolved pieces a run needs (built by the CLI from the config's spec strings). */
export interface Stage1Parts {
  encoder: Encoder;
  selection: LayerSelection;
  /** Training images, decoded at the decoder's output size (= the encoder's input size). */
  images: ImageStore;
  /** Perceptual distance (x̂, x) → scalar, or null when w_p = 0 / net = none. */
  perceptual: ((xhat: Tensor, x: Tensor) => tf.Scalar) | null;
  /** Frozen discriminator backbone and the widths of its tapped maps, or null when the GAN is off. */
  discBackbone: { extract: FeatureExtractor; channels: number[] } | null;
  /** Precomputed raw latents of `images` in store order, flat [count · N · C] (e.g. shared by a K sweep); else per `cache`. */
  latents?: Float32Array;
}

export interface Stage1RunOptions {
  /** As runTraining: true (default) resumes from `out`'s latest checkpoint, a path from that one. */
  resume?: boolean | string;
  handleSignals?: boolean;
  /** Stop after this step and checkpoint (the schedule still spans every step; the same run without it continues). */
  stopAt?: number;
  onLog?: (r: LogRecord) => void;
  onCheckpoint?: (info: { step: number; path: string }) => void | Promise<void>;
}

export interface Stage1Result {
  dir: string;
  step: number;
  totalSteps: number;
  interrupted: boolean;
  /** Written only when the run completed. */
  decoderDir?: string;
  statsFile?: string;
  samples: string[];
}

/** Summary written to `<run>/stage1.json` (what eval / stage 2 need to rebuild the RAE). */
export interface Stage1Summary {
  config: Stage1Config;
  encoder: string;
  selection: LayerSelection;
  grid: [number, number];
  channels: number;
  imageSize: [number, number];
  steps: number;
  trainImages: number;
}

/** A finished run's files: `decoder/` holds the EMA weights (what stage 2 and eval use), `decoder-raw/` the raw ones. */
export const STAGE1_FILES = { summary: 'stage1.json', decoder: 'decoder', rawDecoder: 'decoder-raw', stats: 'stats.safetensors', samples: 'samples' } as const;

/** The RAE a config describes (fresh decoder, seeded), for training or for loading trained weights into. */
export function stage1RAE(cfg: Stage1Config, encoder: Encoder, selection: LayerSelection): RAE {
  return createRAE({
    encoder,
    selection,
    decoder: { preset: cfg.decoder.preset, overrides: cfg.decoder.overrides as Partial<DecoderConfigInput>, rng: new Rng(cfg.seed) },
    noiseTau: cfg.noiseTau,
    rng: new Rng(cfg.seed + 1),
  });
}

/** images NHWC [0,1] of the decoder for latents z [B, N, C] (training path: raw latent, no standardisation). */
const decodeFn = (rae: RAE) => (z: Tensor): Tensor => tf.tidy(() => rae.denormalize(rae.decoder.decode(z, { latentGrid: rae.grid })));

/** Train (or resume) a stage-1 run; see the file comment. */
export async function trainStage1(cfg: Stage1Config, parts: Stage1Parts, opts: Stage1RunOptions = {}): Promise<Stage1Result> {
  const rae = stage1RAE(cfg, parts.encoder, parts.selection);
  const store = parts.images;
  const disposers: (() => void)[] = [() => rae.dispose()];
  try {
    const [h, w] = rae.imageSize;
    if (store.size[0] !== h || store.size[1] !== w) throw new Error(`training images are ${store.size.join('×')} but the decoder outputs ${h}×${w}`);
    if (cfg.batchSize > store.count) throw new Error(`batchSize ${cfg.batchSize} is larger than the ${store.count} training images`);
    const sampler = new EpochSampler(store.count, cfg.batchSize);
    const spe = sampler.stepsPerEpoch;
    const totalSteps = cfg.steps ?? Math.max(1, Math.round(cfg.epochs * spe));
    const epochs = totalSteps / spe;
    const schedule = parseSchedule({ kind: 'cosine', lr: cfg.lr, finalLr: cfg.finalLr, warmupSteps: Math.min(totalSteps, Math.round(cfg.warmupEpochs * spe)), totalSteps }, 'stage-1 lr schedule');
    const decParams = rae.decoder.namedParameters();
    const decOpt = new AdamW(decParams, { lr: cfg.lr, betas: cfg.betas, weightDecay: cfg.weightDecay, eps: 1e-8 });
    const gan = cfg.gan;
    const disc = gan.enabled && gan.weight > 0 && parts.discBackbone ? new Discriminator(parts.discBackbone.extract, { channels: parts.discBackbone.channels, kernel: gan.kernel, spectralNorm: gan.spectralNorm, rng: new Rng(cfg.seed + 2) }) : null;
    const discOpt = disc ? new AdamW(disc.namedParameters(), { lr: gan.lr, betas: gan.betas, weightDecay: 0, eps: 1e-8 }) : null;
    // one optimiser for the checkpoint; the schedule rescales D's lr in proportion to the decoder's
    const optimizer: Optimizer = discOpt ? groupOptimizers({ decoder: decOpt, disc: discOpt }) : decOpt;
    const ema = new Ema(rae.decoder);
    disposers.push(() => optimizer.dispose(), () => ema.dispose(), () => disc?.dispose());
    const gs = ganSchedule(epochs, spe, gan.discStart, gan.ganStart);
    const terms: DecoderLossTerms = {
      l1: cfg.l1,
      perceptualWeight: cfg.perceptual.weight,
      perceptual: cfg.perceptual.weight > 0 ? parts.perceptual : null,
      ganWeight: gan.weight,
      disc: disc ? (x) => disc.forward(x) : null,
      gLoss: gan.gLoss,
      dLoss: gan.dLoss,
      quantize: gan.quantize,
      diffaug: gan.diffaug,
      maxWeight: gan.maxWeight,
    };
    const stepParts: Stage1StepParts = {
      decode: decodeFn(rae),
      decoderParams: decParams,
      decoderOptimizer: decOpt,
      gradClip: cfg.gradClip,
      disc,
      discOptimizer: discOpt,
      terms,
    };
    const tokenSize = rae.numTokens * rae.channels;
    if (parts.latents && parts.latents.length !== store.count * tokenSize) {
      throw new Error(`precomputed latents hold ${parts.latents.length} values, expected ${store.count} images × ${rae.numTokens} tokens × ${rae.channels} channels`);
    }
    const cache = parts.latents ?? (cfg.cache === 'latents' ? encodeAll(rae, store, cfg.encodeBatch) : null);
    const latentsOf = (idx: number[]): Tensor => {
      if (cache == null) {
        const x = store.batch(idx);
        try {
          return rae.encodeRaw(x);
        } finally {
          x.dispose();
        }
      }
      const out = new Float32Array(idx.length * tokenSize);
      idx.forEach((i, k) => out.set(cache.subarray(i * tokenSize, (i + 1) * tokenSize), k * tokenSize));
      return tf.tensor3d(out, [idx.length, rae.numTokens, rae.channels]);
    };
    const decode = decodeFn(rae);
    const sampleIdx = Array.from({ length: Math.min(cfg.sampleCount, store.count) }, (_, i) => i);
    const samples: string[] = [];
    const writeSamples = async (name: string) => {
      const x = store.batch(sampleIdx);
      const z = latentsOf(sampleIdx);
      ema.swap(); // EMA weights, as upstream samples
      let r: Tensor;
      try {
        r = decode(z);
      } finally {
        ema.swap();
        z.dispose();
      }
      const file = path.join(cfg.out, STAGE1_FILES.samples, `${name}.png`);
      try {
        await writeImageRows(file, [x, r]);
      } finally {
        tf.dispose([x, r]);
      }
      samples.push(file);
    };

    const result = await runTraining({
      dir: cfg.out,
      totalSteps,
      checkpointEvery: cfg.checkpointEvery,
      logEvery: cfg.logEvery,
      keep: cfg.keep,
      modules: disc ? { decoder: rae.decoder, disc } : { decoder: rae.decoder },
      optimizer,
      ema,
      rng: new Rng([cfg.seed, 0x5eed, 1, 2]),
      config: cfg,
      configIgnore: STAGE1_RESUME_IGNORE,
      schedule,
      resume: opts.resume ?? true,
      label: 'stage1 train',
      handleSignals: opts.handleSignals,
      stopAt: opts.stopAt,
      onLog: opts.onLog,
      onCheckpoint: opts.onCheckpoint,
      step: async (ctx) => {
        const idx = sampler.next(ctx);
        const x = store.batch(idx);
        const raw = latentsOf(idx);
        const z = noiseAugment(raw, cfg.noiseTau, ctx.rng);
        let scalars: Record<string, number>;
        try {
          // EMA with the same warm-up as stage 2: decay_t = min(ema, (1 + t)/(10 + t)) when emaWarmup
          const afterDecoderStep = () => ema.update(emaDecayAt(cfg.ema, ctx.step, cfg.emaWarmup));
          scalars = stage1Step({ ...stepParts, afterDecoderStep }, raw, z, x, ganPhase(ctx.step, gs), ctx.rng);
        } finally {
          tf.dispose([x, raw, z]);
        }
        if (cfg.sampleEvery > 0 && (ctx.step + 1) % cfg.sampleEvery === 0) await writeSamples(`step-${String(ctx.step + 1).padStart(7, '0')}`);
        return scalars;
      },
    });

    const out: Stage1Result = { dir: cfg.out, step: result.step, totalSteps, interrupted: result.interrupted, samples };
    if (result.interrupted) return out;
    await writeSamples('final');
    out.decoderDir = exportDecoder(rae, ema, path.join(cfg.out, STAGE1_FILES.decoder));
    exportDecoder(rae, null, path.join(cfg.out, STAGE1_FILES.rawDecoder));
    // latent statistics over the training set, noise-free (cached raw latents when available)
    const stats = latentStatsOf(rae.encoder, rae.selection, cache ? { latents: cache, shape: [rae.numTokens, rae.channels] } : store, cfg.encodeBatch);
    out.statsFile = path.join(cfg.out, STAGE1_FILES.stats);
    try {
      saveStats(out.statsFile, stats, latentStatsMetadata({ encoder: cfg.encoder, selection: parts.selection, count: stats.count }));
    } finally {
      disposeStats(stats);
    }
    const summary: Stage1Summary = { config: cfg, encoder: parts.encoder.name, selection: parts.selection, grid: rae.grid, channels: rae.channels, imageSize: rae.imageSize, steps: result.step, trainImages: store.count };
    writeFileAtomic(path.join(cfg.out, STAGE1_FILES.summary), JSON.stringify(summary, null, 2) + '\n');
    return out;
  } finally {
    for (const d of disposers.reverse()) d();
  }
}

/** Raw noise-free latents of every stored image, flat [count · N · C] (the encoder is frozen and images are not augmented, so this is exact). */
function encodeAll(rae: RAE, store: ImageStore, batch: number): Float32Array {
  const size = rae.numTokens * rae.channels;
  const out = new Float32Array(store.count * size);
  const bar = progress({ label: 'encode latents', total: store.count, unit: 'img' });
  let done = 0;
  for (const idx of store.ranges(batch)) {
    const x = store.batch(idx);
    const z = rae.encodeRaw(x);
    out.set(z.dataSync(), idx[0] * size);
    tf.dispose([x, z]);
    done += idx.length;
    bar.update(done);
  }
  bar.finish();
  return out;
}

/** Write the EMA decoder (`ema` null: the raw weights) as a loadable folder (`config.json` + `model.safetensors`, upstream keys), atomically. */
export function exportDecoder(rae: RAE, ema: Ema | null, dir: string): string {
  // one atomic folder write: on a full disk the temp folder is removed and the error names `dir`
  return writeDirAtomicSync(dir, (tmp) => {
    ema?.swap();
    try {
      writeFileSynced(path.join(tmp, 'model.safetensors'), serializeSafetensors(rae.decoder.stateDict()));
    } finally {
      ema?.swap();
    }
    writeFileSynced(path.join(tmp, 'config.json'), JSON.stringify(rae.decoder.config, null, 2) + '\n');
    return dir;
  });
}
