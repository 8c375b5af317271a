/**
 * `t2i train` as a function: captioned images → frozen-encoder latents (cached) → statistics on the
 * training images → standardised latents with their text condition (cached tower features) →
 * core's generic stage-2 loop (`trainDiffusion`: CFG dropout to the empty prompt, checkpoints,
 * resume, Ctrl-C). `<out>/t2i.json` records what generation needs besides the checkpoint.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { loadStats, saveStats, trainDiffusion, planDiffusion, writeFileAtomic, readJsonFile, disposeStats, type ConditionedLatents, type DiffusionResult, type LogRecord } from '@raev2/core';
import { loadEncoder, withResolution, type TextEncoder } from '@raev2/encoders';
import { loadTextEncoder } from '../text/registry.js';
import { TextConditioner, TextConditionOptionsSchema } from '../condition/text_condition.js';
import { captionedLatents, captionIdLatents, shuffledCaptions } from './source.js';
import { fitStats, rawLatentsCached, standardizeHost } from './latents.js';
import { diffusionConfigOf, type T2ITrainConfig } from './config.js';
import { resolveT2IData } from './data.js';
import { groupRepeats, repeatRows, samplingGroup } from './balance.js';

export const T2I_RUN_FILE = 't2i.json';

/** Config fields that may change when a run resumes (bookkeeping, not the model or its training). */
export const RESUME_IGNORE = ['t2i.checkpointEvery', 't2i.logEvery', 't2i.keep'];

/** What `<out>/t2i.json` holds. */
export const T2IRunSchema = z
  .object({
    format: z.literal('raev2-t2i-run'),
    variant: z.enum(['text', 'caption-id', 'shuffled']),
    textEncoder: z.string(),
    encoder: z.string(),
    imageSize: z.number().int().positive(),
    stats: z.string(),
    text: TextConditionOptionsSchema,
    /** caption → class id (caption-id variant). */
    captionIds: z.record(z.string(), z.number().int().nonnegative()).optional(),
  })
  .strict();
export type T2IRun = z.infer<typeof T2IRunSchema>;

export function readT2IRun(dir: string): T2IRun {
  return readJsonFile(T2IRunSchema, path.join(dir, T2I_RUN_FILE));
}

export interface T2ITrainOptions {
  resume?: boolean | string;
  handleSignals?: boolean;
  /** Stop after this step and checkpoint (the schedule still spans every step; the same run without it continues). */
  stopAt?: number;
  onLog?: (r: LogRecord) => void;
  /** A text encoder already loaded (else loaded from cfg.textEncoder); the caller keeps ownership. */
  textEncoder?: TextEncoder;
}

/** Train (or resume) a T2I DiT^DH; see the file comment. */
export async function trainT2I(cfg: T2ITrainConfig, opts: T2ITrainOptions = {}): Promise<DiffusionResult> {
  const diffusion = diffusionConfigOf(cfg);
  const data = resolveT2IData(cfg.data); // bad data is named before any model is loaded
  // the caption-id baseline needs no tower
  const text = cfg.variant === 'caption-id' ? null : (opts.textEncoder ?? (await loadTextEncoder(cfg.textEncoder)));
  const { encoder, selection } = await loadEncoder(withResolution(cfg.encoder, cfg.imageSize));
  fs.mkdirSync(cfg.out, { recursive: true });
  try {
    const raw = await rawLatentsCached(encoder, selection, cfg.encoder, cfg.imageSize, data.train, path.join(cfg.out, 'latents.safetensors'));
    const statsFile = cfg.stats ?? path.join(cfg.out, 'stats.safetensors');
    if (cfg.stats == null && !fs.existsSync(statsFile)) {
      const fitted = fitStats(raw, Array.from({ length: raw.count }, (_, i) => i));
      saveStats(statsFile, fitted, { encoder: cfg.encoder, count: String(raw.count) });
      disposeStats(fitted);
    }
    const stats = loadStats(statsFile, [raw.grid[0] * raw.grid[1], raw.channels]);
    // statistics above are of the distinct images; balancing repeats rows only for sampling
    const balanced = repeatRows(standardizeHost(raw, stats), groupRepeats(data.train.map(samplingGroup), cfg.groupSampling));
    disposeStats(stats);
    const latents = balanced.latents;
    const captions = balanced.source.map((i) => data.train[i].captions);
    let source: ConditionedLatents;
    let captionIds: Record<string, number> | undefined;
    if (cfg.variant === 'caption-id') {
      const s = captionIdLatents(latents, captions);
      captionIds = Object.fromEntries(s.ids);
      source = s;
    } else {
      const conditioner = new TextConditioner(text!, cfg.text);
      source = captionedLatents(latents, cfg.variant === 'shuffled' ? shuffledCaptions(captions, cfg.seed) : captions, conditioner);
    }
    const run: T2IRun = { format: 'raev2-t2i-run', variant: cfg.variant, textEncoder: cfg.textEncoder, encoder: cfg.encoder, imageSize: cfg.imageSize, stats: path.resolve(statsFile), text: cfg.text, ...(captionIds ? { captionIds } : {}) };
    writeFileAtomic(path.join(cfg.out, T2I_RUN_FILE), JSON.stringify(run, null, 2) + '\n');
    const plan = planDiffusion(diffusion, source);
    return await trainDiffusion(diffusion, source, { plan, resume: opts.resume, handleSignals: opts.handleSignals, stopAt: opts.stopAt, onLog: opts.onLog, runConfig: { t2i: cfg, dit: plan.dit, shift: plan.shift }, configIgnore: RESUME_IGNORE });
  } finally {
    encoder.dispose();
    if (opts.textEncoder == null) text?.dispose();
  }
}
