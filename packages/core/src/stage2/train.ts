/**
 * `stage2 train` as a function: the class-conditional stage 2 (docs/method.md §2) — the
 * class-label source of a labelled image dataset's standardised latents (cached or encoded per
 * batch), trained by the generic `trainDiffusion` loop. Every `samples.every` steps it writes a
 * per-class sample grid, every `metrics.every` steps it appends generation metrics (EMA weights)
 * to `metrics.jsonl`.
 */
import * as path from 'node:path';
import { tf, type Tensor } from '../runtime/tf.js';
import type { DiTModel } from '../dit/model.js';
import { disposeCondition } from '../dit/condition.js';
import type { TransportConfig } from '../transport/transport.js';
import type { LogRecord } from '../train/loop.js';
import { assertSameConfig, latestCheckpoint, listCheckpoints, readCheckpointState } from '../io/checkpoint.js';
import type { Encoder } from '../encoder.js';
import { encoderFeatureSpace, latentFeatureSpace, type FeatureSpace } from '../metrics/generation.js';
import { ImageStore } from '../stage1/images.js';
import { writeLabelledGrid } from '../io/grid.js';
import { STAGE2_RESUME_IGNORE, resolveDiTConfig, resolveShift, resolveTransport, type Stage2Config } from './config.js';
import type { Stage2Data } from './data.js';
import { latentBatch, statsHash, type LatentSet } from './latents.js';
import { encodeStandardized, prepareReal, splitLatents, type LatentSource } from './prepare.js';
import { buildReference, disposeReference, evaluateGeneration, type RealReference } from './evaluate.js';
import { METRICS_FILE, appendMetrics, truncateMetrics, type MetricsRecord } from './metrics_log.js';
import { classMajorLabels, generateLatents, type Generated } from './generate.js';
import { classLatents, labelCondition } from './source.js';
import { trainDiffusion } from './diffusion.js';
import { Stage2RunConfigSchema, type Resolved, type Stage2RunConfig } from './run.js';

/** The resolved pieces a run needs (built by the CLI from the config's spec strings and paths). */
export interface Stage2Parts extends Omit<LatentSource, 'grid'> {
  data: Stage2Data;
  /** Standardised latents [B, N, C] → images NHWC [0, 1] (the stage-1 decoder); null: no image samples or image-space metrics. */
  decode: ((latents: Tensor) => Tensor) | null;
  /** Image feature encoders by metric space name (e.g. `mobilenetv2`). */
  featureEncoders?: Record<string, Encoder>;
}

export interface Stage2RunOptions {
  /** As runTraining: true (default) resumes from `out`'s latest checkpoint, a path from that one, false refuses existing checkpoints. */
  resume?: boolean | string;
  handleSignals?: boolean;
  /** Stop after this step and checkpoint (the schedule still spans every step; the same run without it continues). */
  stopAt?: number;
  /** Rebuild the latent caches even when they exist. */
  recache?: boolean;
  onLog?: (r: LogRecord) => void;
  onMetrics?: (r: MetricsRecord) => void;
  /** Called once the model is built, before training: what is about to run. */
  onStart?: (info: { resolved: Resolved; parameters: number; totalSteps: number; stepsPerEpoch: number; trainImages: number; heldOutImages: number }) => void;
}

export interface Stage2Result {
  dir: string;
  step: number;
  totalSteps: number;
  interrupted: boolean;
  checkpoint?: string;
  samples: string[];
  metrics: MetricsRecord[];
  resolved: Resolved;
}

/** Everything decided before training starts (no files written yet): model config, shift, feature spaces. */
export interface Stage2Plan {
  resolved: Resolved;
  transport: TransportConfig;
  spaces: FeatureSpace[];
}

/** Resolve and check a config against the parts (throws naming the field: width < channels, unknown space …). */
export function planStage2(cfg: Stage2Config, parts: Stage2Parts, grid: [number, number], channels: number): Stage2Plan {
  const latent = { grid, channels };
  const dit = resolveDiTConfig(cfg, latent, parts.data.classes.length, `stage-2 model (latent ${grid.join('×')}×${channels})`);
  const prediction = dit.prediction ?? (dit.arch === 'raev2' ? 'x' : 'velocity');
  const spaces: FeatureSpace[] = [];
  for (const name of cfg.metrics.spaces) {
    if (name === 'latent') spaces.push(latentFeatureSpace({ numTokens: grid[0] * grid[1], channels }, 'mean'));
    else {
      const enc = parts.featureEncoders?.[name];
      if (enc == null) throw new Error(`metrics.spaces: no feature encoder for "${name}" (available: latent${Object.keys(parts.featureEncoders ?? {}).map((k) => `, ${k}`).join('')})`);
      if (parts.decode == null) throw new Error(`metrics.spaces: "${name}" compares images, which needs a decoder (train from a stage-1 run, or use only "latent")`);
      spaces.push(encoderFeatureSpace(name, enc));
    }
  }
  if (cfg.batchSize > parts.data.train.size) throw new Error(`batchSize ${cfg.batchSize} is larger than the ${parts.data.train.size} training images`);
  const resolved: Resolved = {
    dit,
    grid,
    channels,
    shift: resolveShift(cfg, latent),
    classes: parts.data.classes,
    encoder: parts.encoderSpec,
    imageSize: parts.imageSize,
    stats: statsHash(parts.stats),
  };
  return { resolved, transport: resolveTransport(cfg, latent, prediction), spaces };
}

/**
 * The real reference a run's metrics compare with — FD reference features of the training subset
 * and the held-out split, and the linear probe — built from (or into) the run's caches exactly as
 * `trainStage2` does, so other models (e.g. an untrained one) can be scored the same way.
 * The caller disposes the reference (`disposeReference`).
 */
export async function stage2Reference(cfg: Stage2Config, parts: Stage2Parts, grid: [number, number], channels: number, opts: { recache?: boolean; cacheDir?: string | null } = {}): Promise<{ reference: RealReference; trainLatents: LatentSet; plan: Stage2Plan }> {
  const plan = planStage2(cfg, parts, grid, channels);
  const cacheDir = opts.cacheDir === undefined ? cfg.cacheDir ?? path.join(cfg.out, 'latents') : opts.cacheDir;
  const real = await prepareReal(parts.data, plan.spaces, { ...parts, grid }, { cacheDir, data: cfg.data, batch: cfg.encodeBatch, recache: opts.recache, maxReference: cfg.metrics.maxReference, seed: cfg.splitSeed });
  const m = cfg.metrics;
  const reference = buildReference({ spaces: plan.spaces, train: real.train, heldOut: real.heldOut, probeTrain: real.trainLatents, numClasses: plan.resolved.classes.length, probe: m.probe, probePool: m.probePool });
  return { reference, trainLatents: real.trainLatents, plan };
}

/** Train (or resume) a stage-2 run: the class-label source of its data, trained by `trainDiffusion`; see the file comment. */
export async function trainStage2(cfg: Stage2Config, parts: Stage2Parts, grid: [number, number], channels: number, opts: Stage2RunOptions = {}): Promise<Stage2Result> {
  const plan = planStage2(cfg, parts, grid, channels);
  const { resolved, transport } = plan;
  const runConfig: Stage2RunConfig = { config: cfg, resolved };
  const configIgnore = STAGE2_RESUME_IGNORE.map((k) => `config.${k}`);
  checkResume(cfg.out, opts.resume ?? true, runConfig, configIgnore); // before any latent is computed (on the parsed configs)
  const src: LatentSource = { ...parts, grid };
  const online = cfg.latents === 'online';
  const cacheDir = cfg.cacheDir ?? path.join(cfg.out, 'latents');
  const prep = { cacheDir, data: cfg.data, batch: cfg.encodeBatch, recache: opts.recache };
  const wantMetrics = cfg.metrics.every != null;
  const disposers: (() => void)[] = [];
  try {
    // training latents: cached (computed once) or, online, the decoded images encoded per batch
    let trainSet: LatentSet | null = null, store: ImageStore | null = null;
    let ref: RealReference | null = null;
    const reference = async (): Promise<RealReference> => {
      if (ref) return ref;
      const r = await stage2Reference(cfg, parts, grid, channels, { recache: opts.recache, cacheDir: online ? null : cacheDir });
      if (!online) trainSet ??= r.trainLatents; // online runs keep encoding their batches
      ref = r.reference;
      disposers.push(() => disposeReference(ref!));
      return ref;
    };
    if (!online) {
      if (wantMetrics) await reference();
      else trainSet = await splitLatents('train', parts.data.train, src, prep);
    } else store = await ImageStore.load(parts.data.train, parts.imageSize);
    const numClasses = resolved.classes.length;
    const source = classLatents({
      size: parts.data.train.size,
      numClasses,
      grid,
      channels,
      labels: Int32Array.from({ length: parts.data.train.size }, (_, i) => parts.data.train.get(i).label ?? 0),
      latents: (idx) => {
        if (trainSet) return latentBatch(trainSet, idx);
        const x = store!.batch(idx);
        try {
          return encodeStandardized(src, x);
        } finally {
          x.dispose();
        }
      },
    });
    const metricsFile = path.join(cfg.out, METRICS_FILE);
    const samples: string[] = [];
    const metrics: MetricsRecord[] = [];

    const writeSamples = async (step: number, model: DiTModel) => {
      if (parts.decode == null) return;
      const sc = cfg.samples;
      const classes = Array.from({ length: Math.min(numClasses, sc.maxClasses) }, (_, i) => i);
      const cond = labelCondition(classMajorLabels(classes, sc.perClass));
      let g: Generated;
      try {
        g = generateLatents(model, cond, { nullCondition: source.nullCondition, steps: sc.steps, sampler: sc.sampler, guidance: sc.guidance, shift: resolved.shift, tEps: transport.tEps, seed: sc.seed });
      } finally {
        disposeCondition(cond);
      }
      const images = tf.tidy(() => parts.decode!(g.latents));
      g.latents.dispose();
      const rows = classes.map((c, i) => ({ label: resolved.classes[c], images: images.slice([i * sc.perClass, 0, 0, 0], [sc.perClass, -1, -1, -1]) }));
      const file = path.join(cfg.out, 'samples', `step-${String(step).padStart(7, '0')}.png`);
      try {
        await writeLabelledGrid(file, rows);
      } finally {
        tf.dispose([images, ...rows.map((r) => r.images)]);
      }
      samples.push(file);
    };

    const writeMetrics = async (step: number, model: DiTModel) => {
      const mc = cfg.metrics;
      const r = await reference();
      const m = evaluateGeneration(model, r, { count: mc.count ?? Math.min(512, r.heldOutCount >= 2 ? r.heldOutCount : 256), steps: mc.steps, sampler: mc.sampler, guidance: mc.guidance, shift: resolved.shift, tEps: transport.tEps, seed: mc.seed, decode: parts.decode ?? undefined });
      const rec: MetricsRecord = { step, time: new Date().toISOString(), ...m };
      appendMetrics(metricsFile, rec);
      metrics.push(rec);
      opts.onMetrics?.(rec);
    };

    const at = (every: number | null, step: number, total: number) => every != null && ((every > 0 && step % every === 0) || step === total);
    const result = await trainDiffusion(cfg, source, {
      plan: { dit: resolved.dit, transport, shift: resolved.shift },
      runConfig,
      configIgnore: [...configIgnore, ...RENAMED_FIELDS], // their values were compared by checkResume
      resume: opts.resume ?? true,
      handleSignals: opts.handleSignals,
      stopAt: opts.stopAt,
      onLog: opts.onLog,
      onStart: (info) => opts.onStart?.({ resolved, parameters: info.parameters, totalSteps: info.totalSteps, stepsPerEpoch: info.stepsPerEpoch, trainImages: parts.data.train.size, heldOutImages: parts.data.heldOut?.size ?? 0 }),
      onResume: (step) => truncateMetrics(metricsFile, step), // a resumed run forgets records written after its checkpoint
      periodic: {
        due: (step, total) => (at(cfg.samples.every, step, total) && parts.decode != null) || at(cfg.metrics.every, step, total),
        run: async (step, model, total) => {
          if (at(cfg.samples.every, step, total) && parts.decode != null) await writeSamples(step, model);
          if (at(cfg.metrics.every, step, total)) await writeMetrics(step, model);
        },
      },
    });
    return { dir: cfg.out, step: result.step, totalSteps: result.totalSteps, interrupted: result.interrupted, checkpoint: result.checkpoint, samples, metrics, resolved };
  } finally {
    for (const d of disposers.reverse()) d();
  }
}

/**
 * Fields whose representation changed (labelDropout → conditionDropout, condition {type} → {kind}):
 * a run checkpointed before the change stores the old form, so the raw comparison of the training
 * loop skips them; `checkResume` compares their parsed values.
 */
const RENAMED_FIELDS = ['config.labelDropout', 'config.conditionDropout', 'resolved.dit.condition'];

/** Fail early (before caching) when a resume would fail: no/odd checkpoint, or a changed config (compared as parsed, so a run saved in an older representation resumes). */
function checkResume(dir: string, resume: boolean | string, config: Stage2RunConfig, ignore: readonly string[]): void {
  if (resume === false) {
    if (listCheckpoints(dir).length) throw new Error(`${dir} already holds checkpoints (latest ${latestCheckpoint(dir)}); resume, or use a new directory`);
    return;
  }
  const from = typeof resume === 'string' ? resume : latestCheckpoint(dir);
  if (from == null) return;
  const saved = readCheckpointState(from).config;
  const parsed = Stage2RunConfigSchema.safeParse(saved);
  assertSameConfig(parsed.success ? JSON.parse(JSON.stringify(parsed.data)) : saved, config, ignore, `checkpoint ${from}`);
}
