/**
 * The demo's final generation scores: the trained DiT (EMA weights, free guidance and unguided)
 * against the same DiT at its initial weights (same seed, so exactly the network training started
 * from), all scored by `evaluateGeneration` against one real reference — FD per feature space
 * (RAE latent, MobileNetV2 features), FD_r against the held-out floor, and the class accuracy of
 * generated samples under a linear probe trained on real latents.
 */
import * as path from 'node:path';
import {
  buildReference,
  createDiT,
  disposeReference,
  evaluateGeneration,
  engineDenoiser,
  resolveEngine,
  loadStage2Model,
  planStage2,
  prepareReal,
  progress,
  readMetrics,
  readStage2Checkpoint,
  METRICS_FILE,
  type GenerationMetrics,
  type GuidanceConfigInput,
  type Stage2Config,
} from '@raev2/core';
import { resolveStage2 } from '../runs/stage2.js';

export interface FinalGeneration {
  trained: GenerationMetrics;
  trainedUnguided: GenerationMetrics;
  untrained: GenerationMetrics;
}

/** Score the finished stage-2 run of `cfg` and its initial weights; the trained free-guidance score is reused from `metrics.jsonl` when the run evaluated its last step. */
export async function evaluateFinal(cfg: Stage2Config, guidance: GuidanceConfigInput): Promise<FinalGeneration> {
  const r = await resolveStage2(cfg);
  const owned: { dispose(): void }[] = [];
  try {
    const plan = planStage2(cfg, r.parts, r.grid, r.channels);
    const src = { ...r.parts, grid: r.grid };
    const real = await prepareReal(r.parts.data, plan.spaces, src, { cacheDir: path.join(cfg.out, 'latents'), data: cfg.data, batch: cfg.encodeBatch });
    const ref = buildReference({ spaces: plan.spaces, train: real.train, heldOut: real.heldOut, numClasses: plan.resolved.classes.length, probe: true, probePool: cfg.metrics.probePool });
    owned.push({ dispose: () => disposeReference(ref) });
    const mc = cfg.metrics;
    const { ckpt, step } = readStage2Checkpoint(cfg.out);
    const trainedModel = loadStage2Model(ckpt, plan.resolved.dit, { ema: true });
    owned.push(trainedModel);
    const initial = createDiT(plan.resolved.dit, cfg.seed).eval(); // the run's step-0 weights
    owned.push(initial);
    const engine = resolveEngine(); // RAEV2_ENGINE; onnxruntime by default (the trained model's graph is cached in its run)
    const score = (label: string, model: typeof initial, g: GuidanceConfigInput) => {
      const count = mc.count ?? 256;
      const net = engineDenoiser(engine, model, { cacheDir: model === trainedModel ? cfg.out : null });
      const bar = progress({ label: `evaluate ${label}`, total: count, unit: 'img' });
      try {
        return evaluateGeneration(model, ref, { count, steps: mc.steps, sampler: mc.sampler, guidance: g, shift: plan.resolved.shift, tEps: plan.transport.tEps, seed: mc.seed, decode: r.parts.decode ?? undefined, denoiser: net.denoiser, onProgress: (d) => bar.update(d) });
      } finally {
        bar.finish();
        net.release();
      }
    };
    const spaces = plan.spaces.map((s) => s.name).sort().join();
    const logged = readMetrics(path.join(cfg.out, METRICS_FILE)).find((m) => m.step === step && m.count === (mc.count ?? 256) && m.steps === mc.steps && Object.keys(m.fd).sort().join() === spaces);
    const trained = logged ?? score('trained DiT', trainedModel, guidance);
    return {
      trained,
      trainedUnguided: score('trained DiT, no guidance', trainedModel, { method: 'none' }),
      untrained: score('untrained DiT', initial, guidance),
    };
  } finally {
    for (const o of owned.reverse()) o.dispose();
    r.dispose();
  }
}
