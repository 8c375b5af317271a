/**
 * Stage-2 runs: resolve a stage-2 config into its parts — the stage-1 run's encoder, decoder and
 * latent statistics (or an encoder spec with a statistics file), the data splits and the feature
 * encoders of the metric spaces — then train through core. Everything (config, data source, encoder,
 * statistics shape, model sizes against the latent, checkpoint to resume) is validated before any
 * latent is computed or any file is written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import {
  initRuntime,
  parseFlags,
  readJsonFile,
  readCheckpointState,
  prepareRunDir,
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
  engineDecoder,
  resolveEngine,
  type EngineDecoder,
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
import { formatEncoderSpec, loadEncoder, parseEncoderSpec, withResolution } from '@raev2/encoders';
import { DEFAULT_RFD_FEATURES, loadStage1Run } from './stage1.js';

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
      const spec1 = canonicalSpec(withResolution(s1.encoder, s1.imageSize));
      encoderSpec = spec1;
      if (cfg.encoder != null && canonicalSpec(withResolution(cfg.encoder, cfg.imageSize ?? s1.imageSize)) !== spec1) {
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
      // the decoder on the inference engine (RAEV2_ENGINE; onnxruntime by default, graph cached in the stage-1 run), built on first use
      let dec: EngineDecoder | null = null;
      owned.push({ dispose: () => dec?.release() });
      const stage1Dir = path.resolve(cfg.stage1);
      decode = (z: Tensor) => (dec ??= engineDecoder(resolveEngine(), rae, { cacheDir: stage1Dir })).decode(z);
    } else {
      const spec = withResolution(cfg.encoder!, cfg.imageSize);
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
  const lock = prepareRunDir(cfg.out); // the output folder is checked and locked before any work
  try {
    const r = await resolveStage2(cfg);
    try {
      return await trainStage2(cfg, r.parts, r.grid, r.channels, opts);
    } finally {
      r.dispose();
    }
  } finally {
    lock.release();
  }
}

