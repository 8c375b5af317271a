/**
 * The two training configs of the demo, written in the schemas of `raev2 stage1 train` and
 * `raev2 stage2 train` (so a demo run is also an ordinary pair of runs those commands can resume,
 * evaluate and sample): a decoder on the multi-layer latent with noise augmentation and L1 +
 * perceptual loss (GAN optional), and a DiT^DH with the base head (in-context conditioning,
 * x-prediction, logit-normal t with the dimension shift) scored with free guidance.
 */
import * as path from 'node:path';
import { parseStage1Config, parseStage2Config, type GuidanceConfigInput, type Stage1Config, type Stage2Config } from '@raev2/core';
import {  } from '../runs/stage1.js';
import { withResolution } from '@raev2/encoders';
import { emaForSteps, type DemoArch, type Plan } from './plan.js';

/** Run folders inside the demo's work folder. */
export const DEMO_RUNS = { stage1: 'stage1', stage2: 'stage2', samples: 'samples', sweep: (k: number) => `sweep-k${k}` } as const;

/** Free guidance (w, t ∈ [0.1, 1]) as a guidance config. */
export function freeGuidance(w: number): GuidanceConfigInput {
  return { method: 'free', freeScale: w, freeInterval: [0.1, 1] };
}

/** Log often enough for a smooth loss curve (~150 points). */
const logEvery = (steps: number) => Math.max(1, Math.floor(steps / 150));

export interface ConfigInput {
  arch: DemoArch;
  plan: Plan;
  /** `manifest:<file>` source. */
  data: string;
  work: string;
  trainImages: number;
  seed: number;
  gan: boolean;
  guidanceScale: number;
  sampleSteps: number;
}

/** The stage-1 (decoder) config; `layers` overrides the last-K selection (K sweep), `dir` the run folder. */
export function demoStage1Config(c: ConfigInput, opts: { encoder?: string; dir?: string } = {}): Stage1Config {
  const { arch, plan } = c;
  const steps = plan.decoderSteps;
  const stepsPerEpoch = Math.max(1, Math.floor(c.trainImages / arch.decoder.batch));
  return parseStage1Config({
    encoder: opts.encoder ?? arch.encoder,
    imageSize: arch.encoderRes,
    data: c.data,
    heldOut: arch.heldOut,
    splitSeed: c.seed,
    decoder: { preset: arch.decoder.preset, overrides: arch.decoder.overrides },
    batchSize: arch.decoder.batch,
    steps,
    lr: arch.decoder.lr,
    finalLr: arch.decoder.lr / 10,
    warmupEpochs: (0.05 * steps) / stepsPerEpoch,
    ema: emaForSteps(steps),
    // the shipped decoder's settings (stage 1's defaults since: no clipping, EMA warm-up), so --train rebuilds it
    gradClip: 1,
    emaWarmup: false,
    perceptual: { weight: arch.decoder.perceptual, net: arch.decoder.perceptual > 0 ? 'mobilenetv2' : 'none' },
    gan: { enabled: c.gan },
    seed: c.seed,
    out: path.join(c.work, opts.dir ?? DEMO_RUNS.stage1),
    checkpointEvery: Math.max(25, Math.ceil(steps / 8)),
    logEvery: logEvery(steps),
    keep: 2,
    sampleEvery: 0,
    sampleCount: 8,
    encodeBatch: 32,
  }, 'demo stage-1 config');
}

/**
 * The stage-2 (DiT) config. `train`: on the encoder and the statistics file, without a decoder (the
 * two train at the same time), generation metrics in the latent space only; `eval`: the same run
 * seen through the finished stage-1 run (decoder), with the MobileNetV2 feature space added.
 */
export function demoStage2Config(c: ConfigInput, use: 'train' | 'eval'): Stage2Config {
  const { arch, plan } = c;
  const d = arch.dit;
  const steps = plan.ditSteps;
  const guidance = freeGuidance(c.guidanceScale);
  const latent = use === 'train' ? { encoder: arch.encoder, imageSize: arch.encoderRes } : { stage1: path.join(c.work, DEMO_RUNS.stage1) };
  return parseStage2Config({
    ...latent,
    stats: path.join(c.work, DEMO_FILES_STATS),
    data: c.data,
    heldOut: arch.heldOut,
    splitSeed: c.seed,
    model: { preset: 'small', conditioning: 'in-context', prediction: 'x', hiddenSize: d.hiddenSize, depth: d.depth, numHeads: d.numHeads, baseDepth: d.baseDepth, numTimeTokens: d.numTimeTokens, numCondTokens: d.numCondTokens },
    transport: { timeDist: 'logit-normal', shift: d.shift },
    labelDropout: 0.1,
    optimizer: { name: 'adamw', lr: d.lr },
    schedule: { kind: 'cosine', warmupSteps: Math.min(d.warmupSteps, Math.floor(steps / 4)), finalLr: d.lr / 10 },
    gradClip: 1,
    ema: d.ema,
    batchSize: d.batch,
    steps,
    encodeBatch: 32,
    seed: c.seed,
    out: path.join(c.work, DEMO_RUNS.stage2),
    checkpointEvery: Math.max(50, Math.ceil(steps / 8)),
    logEvery: logEvery(steps),
    keep: 2,
    samples: { every: 0, perClass: 4, steps: c.sampleSteps, guidance },
    metrics: { every: plan.metricEvery, count: plan.metricCount, steps: arch.metrics.steps, guidance, spaces: use === 'train' ? ['latent'] : ['latent', featureSpec(arch)], probe: true, seed: 1 },
  }, `demo stage-2 config (${use})`);
}

/** The latent statistics file in the work folder (noise-free Welford over the training images). */
export const DEMO_FILES_STATS = 'stats.safetensors';

/** The metric feature network at the demo's image size (also the name of its metric space). */
export function featureSpec(arch: DemoArch): string {
  return withResolution(arch.features, arch.featureRes);
}
