/** RAE pixel decoder throughput (images/s): GeneralDecoder.decode on tfjs vs the exported graph on onnxruntime, same weights. */
import { tf, Rng, GeneralDecoder, ortDecoder } from '@raev2/core';
import type { BenchContext } from './context.js';
import { decoderCases } from './models.js';
import { randomizeForBench } from './sampling.js';
import { medianMs, fmt, maxAbsDiff } from './timing.js';
import { peakRssMb } from './machine.js';
import type { Table } from './table.js';

export interface DecoderResult {
  name: string;
  batch: number;
  tfjs: number;
  ort: number;
  diff: number;
  peakRssMb: number;
}

export async function benchDecoder(ctx: BenchContext): Promise<{ table: Table; results: DecoderResult[] }> {
  await tf.setBackend(ctx.backend);
  const results: DecoderResult[] = [];
  for (const c of decoderCases(ctx.smoke)) {
    ctx.log(`decoder ${c.name}, batch ${c.batch}`);
    const dec = new GeneralDecoder(c.config, { rng: new Rng(1) });
    randomizeForBench(dec, 2);
    const latent = new Rng(3).randn([c.batch, dec.numPatches, c.config.hidden_size]);
    const ort = ortDecoder(dec, { threads: ctx.onnxThreads });
    let a: Float32Array = new Float32Array(0), b: Float32Array = new Float32Array(0);
    const policy = { warmup: 1, repeats: ctx.smoke ? 1 : 5, minRepeats: 2, budgetMs: 4000 };
    const tfMs = await medianMs(() => { const y = dec.decode(latent); a = y.dataSync() as Float32Array; y.dispose(); }, policy);
    const ortMs = await medianMs(() => { const y = ort.decode(latent); b = y.dataSync() as Float32Array; y.dispose(); }, policy);
    ort.release();
    dec.dispose();
    latent.dispose();
    results.push({ name: c.name, batch: c.batch, tfjs: (1000 * c.batch) / tfMs, ort: (1000 * c.batch) / ortMs, diff: maxAbsDiff(a, b), peakRssMb: peakRssMb() });
  }
  const table: Table = {
    title: `RAE decoder throughput (images/s, median; ${ctx.backend} vs onnxruntime)`,
    headers: ['decoder', ctx.backend, 'ort', `ort/${ctx.backend}`, 'max |diff|', 'peak RSS MB'],
    rows: results.map((r) => [`${r.name} ×${r.batch}`, fmt(r.tfjs, 2), fmt(r.ort, 2), fmt(r.ort / r.tfjs, 2), r.diff.toExponential(1), fmt(r.peakRssMb, 0)]),
  };
  return { table, results };
}
