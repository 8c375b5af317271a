/**
 * `t2i eval` orchestration: load the emoji caption set's latents (cached), the runs to compare
 * (text-conditioned + baselines, all standardised with the text run's statistics), the offline
 * tower's retrieval head, then score (`evaluateT2I`) and write `metrics.json` and `report.md`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { loadStats, disposeStats, writeFileAtomic, parseWith, type GuidanceConfigInput } from '@raev2/core';
import { loadEncoder, withResolution } from '@raev2/encoders';
import { emojiCaptionSet, splitHeldOut } from '../data/emoji_captions.js';
import { rawLatentsCached, standardizeHost } from '../train/latents.js';
import { loadT2IModel, type T2IModel } from '../train/model.js';
import { loadTextEncoder } from '../text/registry.js';
import { loadImageHead } from './retrieval_space.js';
import { evaluateT2I, untrainedLike, type EvalModel, type EvalResult } from './evaluate.js';
import { formatReport } from './report.js';
import { openPixelInputs } from './pixel_inputs.js';

export const T2IEvalConfigSchema = z
  .object({
    /** The text-conditioned run (its statistics standardise every model's latents). */
    run: z.string().min(1),
    /** Baseline runs: one-hot caption ids and shuffled captions (optional). */
    captionId: z.string().min(1).optional(),
    shuffled: z.string().min(1).optional(),
    /** More runs (or checkpoint folders) scored unguided beside the others, e.g. text-condition ablations. */
    extra: z.array(z.object({ name: z.string().min(1), run: z.string().min(1) }).strict()).default([]),
    /** The offline tower folder with its image head (retrieval); default the text run's text encoder when it is a folder. */
    tower: z.string().min(1).optional(),
    /** A stage-1 decoder folder (config.json + model.safetensors): also score colour and skin tone in pixels. */
    decoder: z.string().min(1).optional(),
    out: z.string().min(1),
    perPrompt: z.number().int().positive().default(4),
    /** Euler steps of the CFG settings; unguided and free guidance get twice as many (equal network evaluations per image). */
    steps: z.number().int().positive().default(10),
    cfgScale: z.number().positive().default(3),
    freeScale: z.number().positive().default(1.78),
    seed: z.number().int().nonnegative().default(0),
    seenStride: z.number().int().positive().default(8),
  })
  .strict();
export type T2IEvalConfig = z.infer<typeof T2IEvalConfigSchema>;

/** Guidance settings at equal network evaluations per image (2·steps). */
export function guidanceAtEqualNfe(steps: number, cfgScale: number, freeScale: number): EvalModel['guidance'] {
  const free = { freeScale, freeInterval: [0.1, 1] as [number, number] };
  return [
    { name: 'none', config: { method: 'none' } as GuidanceConfigInput, steps: 2 * steps },
    { name: `free ${freeScale}`, config: { method: 'free', ...free } as GuidanceConfigInput, steps: 2 * steps },
    { name: `cfg ${cfgScale}`, config: { method: 'cfg', cfgScale } as GuidanceConfigInput, steps },
    { name: `free ${freeScale} + cfg ${cfgScale}`, config: { method: 'free+cfg', cfgScale, ...free } as GuidanceConfigInput, steps },
  ];
}

/** Run the evaluation; returns what metrics.json holds. */
export async function runT2IEval(input: z.input<typeof T2IEvalConfigSchema>): Promise<EvalResult> {
  const cfg = parseWith(T2IEvalConfigSchema, input, 't2i eval config');
  if (cfg.decoder && !fs.existsSync(path.join(cfg.decoder, 'config.json'))) throw new Error(`t2i eval --decoder ${cfg.decoder}: no config.json there (give a stage-1 decoder folder, e.g. <stage-1 run>/decoder)`);
  const main = await loadT2IModel(cfg.run);
  const models: T2IModel[] = [main];
  try {
    const run = main.run;
    const { train, heldOut } = splitHeldOut(emojiCaptionSet().items);
    const { encoder, selection } = await loadEncoder(withResolution(run.encoder, run.imageSize));
    fs.mkdirSync(cfg.out, { recursive: true });
    let rawTrain, rawHeld;
    try {
      const runDir = fs.existsSync(path.join(cfg.run, 'state.json')) ? path.dirname(cfg.run) : cfg.run; // a checkpoint folder's run
      rawTrain = await rawLatentsCached(encoder, selection, run.encoder, run.imageSize, train, path.join(runDir, 'latents.safetensors'));
      rawHeld = await rawLatentsCached(encoder, selection, run.encoder, run.imageSize, heldOut, path.join(cfg.out, 'heldout.latents.safetensors'));
    } finally {
      encoder.dispose();
    }
    const stats = loadStats(run.stats, [rawTrain.grid[0] * rawTrain.grid[1], rawTrain.channels]);
    const trainL = standardizeHost(rawTrain, stats), heldL = standardizeHost(rawHeld, stats);
    disposeStats(stats);
    const guidance = guidanceAtEqualNfe(cfg.steps, cfg.cfgScale, cfg.freeScale);
    const unguided = guidance.slice(0, 1);
    const evalModels: EvalModel[] = [{ name: 'text (SigLIP-2-architecture tower)', model: main, guidance }];
    const untrained = untrainedLike(main, cfg.seed + 1);
    models.push(untrained);
    evalModels.push({ name: 'untrained DiT', model: untrained, guidance: unguided });
    if (cfg.captionId) {
      const m = await loadT2IModel(cfg.captionId);
      models.push(m);
      evalModels.push({ name: 'one-hot caption ids', model: m, guidance: unguided });
    }
    if (cfg.shuffled) {
      const m = await loadT2IModel(cfg.shuffled);
      models.push(m);
      evalModels.push({ name: 'shuffled captions', model: m, guidance: unguided });
    }
    for (const e of cfg.extra) {
      const m = await loadT2IModel(e.run);
      models.push(m);
      evalModels.push({ name: e.name, model: m, guidance: unguided });
    }
    const towerDir = cfg.tower ?? (run.textEncoder.startsWith('hf:') ? run.textEncoder.slice(3) : run.textEncoder);
    let retrieval: Parameters<typeof evaluateT2I>[0]['retrieval'];
    let pixels: Awaited<ReturnType<typeof openPixelInputs>> | undefined;
    if (fs.existsSync(path.join(towerDir, 'image_head.safetensors'))) {
      const text = await loadTextEncoder(towerDir);
      const featureDim = (rawTrain.grid[0] / 2) * (rawTrain.grid[1] / 2) * rawTrain.channels;
      retrieval = { head: loadImageHead(towerDir, featureDim, text.pooledSize), text, statsFile: run.stats };
    }
    try {
      pixels = cfg.decoder ? await openPixelInputs(run, cfg.decoder, [...train, ...heldOut]) : undefined;
      const result = evaluateT2I({ train: { items: train, latents: trainL }, heldOut: { items: heldOut, latents: heldL }, models: evalModels, retrieval, perPrompt: cfg.perPrompt, seed: cfg.seed, seenStride: cfg.seenStride, pixels });
      const full = { config: cfg, steps: Object.fromEntries(evalModels.map((m) => [m.name, m.model.step])), ...result };
      writeFileAtomic(path.join(cfg.out, 'metrics.json'), JSON.stringify(full, null, 2) + '\n');
      writeFileAtomic(path.join(cfg.out, 'report.md'), formatReport(full));
      return result;
    } finally {
      retrieval?.head.dispose();
      retrieval?.text.dispose();
      pixels?.dispose();
    }
  } finally {
    for (const m of models) m.dispose();
  }
}

