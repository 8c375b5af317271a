/**
 * Sampling throughput (images/s) of the real DiT^DH shapes with free guidance (one network
 * evaluation per image per step) and CFG (two), on tfjs (the model as a denoiser) and onnxruntime
 * (the exported graph as a denoiser), same noise, same guidance wrappers; also the max difference
 * between the two engines' samples.
 */
import { tf, Rng, createDiT, modelDenoiser, ortDenoiser, countNfe, withGuidance, sample, flowGrid, type Denoiser, type GuidanceConfigInput, type DiTModel, type Module } from '@raev2/core';
import type { BenchContext } from './context.js';
import { ditCases } from './models.js';
import { medianMs, fmt, maxAbsDiff } from './timing.js';
import { peakRssMb } from './machine.js';
import type { Table } from './table.js';

export interface SamplingResult {
  name: string;
  guidance: string;
  steps: number;
  batch: number;
  nfePerImage: number;
  tfjs: number;
  ort: number;
  /** max |tfjs − ort| over the samples. */
  diff: number;
  peakRssMb: number;
}

const GUIDANCE: Record<string, GuidanceConfigInput> = {
  free: { method: 'free', freeScale: 1.78, freeInterval: [0.1, 1] },
  cfg: { method: 'cfg', cfgScale: 1.5 },
};

/** Small random weights everywhere (zero-initialised heads would make the outputs trivial). */
export function randomizeForBench(m: Module, seed: number): void {
  const rng = new Rng(seed);
  for (const [, v] of m.namedParameters()) {
    const r = rng.randn(v.shape, 0, 0.02);
    v.assign(r);
    r.dispose();
  }
}

function sampleWith(d: Denoiser, model: DiTModel, g: GuidanceConfigInput, batch: number, steps: number, numClasses: number): { x: tf.Tensor; rows: number } {
  const counted = countNfe(d);
  const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % numClasses), 'int32');
  const [gh, gw] = model.grid;
  const x = sample(withGuidance(counted.denoiser, g, { nullCond: (b) => model.nullCondition(b) }), [batch, gh * gw, model.inChannels], new Rng(5), { grid: flowGrid(steps, 8), cond: { labels }, prediction: model.prediction });
  labels.dispose();
  return { x, rows: counted.nfe.rows };
}

export async function benchSampling(ctx: BenchContext): Promise<{ table: Table; results: SamplingResult[] }> {
  await tf.setBackend(ctx.backend);
  const results: SamplingResult[] = [];
  for (const c of ditCases(ctx.smoke, ctx.ditSHead)) {
    const model = createDiT(c.config, 0).eval();
    randomizeForBench(model, 3);
    const ort = ortDenoiser(model, { threads: ctx.onnxThreads });
    const steps = ctx.smoke ? 2 : c.name.startsWith('demo') ? 12 : 4;
    for (const [gname, g] of Object.entries(GUIDANCE)) {
      ctx.log(`sampling ${c.name}, ${gname}, ${steps} steps × ${c.sampleBatch} images`);
      const numClasses = c.config.numClasses;
      let tfOut: Float32Array = new Float32Array(0), ortOut: Float32Array = new Float32Array(0), rows = 0;
      const run = (d: Denoiser, keep: (a: Float32Array) => void) => () => {
        const r = sampleWith(d, model, g, c.sampleBatch, steps, numClasses);
        keep(r.x.dataSync() as Float32Array);
        rows = r.rows;
        r.x.dispose();
      };
      const policy = { warmup: 1, repeats: ctx.smoke ? 1 : 3, minRepeats: 1, budgetMs: 6000 };
      const tfMs = await medianMs(run(modelDenoiser(model), (a) => { tfOut = a; }), policy);
      const ortMs = await medianMs(run(ort.denoiser, (a) => { ortOut = a; }), policy);
      results.push({ name: c.name, guidance: gname, steps, batch: c.sampleBatch, nfePerImage: rows / c.sampleBatch, tfjs: (1000 * c.sampleBatch) / tfMs, ort: (1000 * c.sampleBatch) / ortMs, diff: maxAbsDiff(tfOut, ortOut), peakRssMb: peakRssMb() });
    }
    ort.release();
    model.dispose();
  }
  const table: Table = {
    title: `sampling throughput (images/s, median; ${ctx.backend} vs onnxruntime, Euler, same noise)`,
    headers: ['model', 'guidance', 'steps', 'NFE/img', ctx.backend, 'ort', `ort/${ctx.backend}`, 'max |diff|', 'peak RSS MB'],
    rows: results.map((r) => [`${r.name} ×${r.batch}`, r.guidance, String(r.steps), fmt(r.nfePerImage, 0), fmt(r.tfjs, 2), fmt(r.ort, 2), fmt(r.ort / r.tfjs, 2), r.diff.toExponential(1), fmt(r.peakRssMb, 0)]),
    notes: ['free guidance: full and base head from one pass; CFG: a doubled batch [cond; null] per step', 'the guidance wrappers and the sampler are the same code for both engines; only the denoiser differs'],
  };
  return { table, results };
}
