/**
 * DiT^DH training step (x-prediction flow-matching loss of full + base head, backward, AdamW) on
 * the real model shapes, as steps/s, model GFLOP/s and MFU: the step's matmul FLOPs (counted from
 * the kernels run, forward + backward) per second over the best onnxruntime (MLAS) MatMul rate
 * measured in this run on the model's own largest matmul shapes. Each case runs twice in this
 * process: every product on XNNPACK (the tfjs engine) and large products on onnxruntime (the
 * default; runtime/ort_matmul.ts).
 */
import { tf, Rng, createDiT, drawTraining, flowMatchingLoss, raev2Transport, AdamW, valueAndGrads, disposeGrads, ortMatMulEnabled, setOrtMatMul } from '@raev2/core';
import type { BenchContext } from './context.js';
import { ditCases, type DiTCase } from './models.js';
import { countMatmulFlops, nativePeak } from './flops.js';
import { medianMs, fmt } from './timing.js';
import { peakRssMb } from './machine.js';
import type { Table } from './table.js';

export interface DiTTrainResult {
  name: string;
  batch: number;
  /** Where the step's large products ran. */
  products: 'xnnpack' | 'onnxruntime';
  stepsPerSec: number;
  /** Matmul FLOPs of one step (forward + backward). */
  stepFlops: number;
  gflops: number;
  nativeGflops: number;
  nativeShape: string;
  mfu: number;
  peakRssMb: number;
}

export async function benchDiTTrain(ctx: BenchContext): Promise<{ table: Table; results: DiTTrainResult[] }> {
  await tf.setBackend(ctx.backend);
  const results: DiTTrainResult[] = [];
  const routed = ortMatMulEnabled();
  const routes = ctx.backend !== 'wasm' ? ['xnnpack' as const] : ctx.ditProducts === 'both' ? (['xnnpack', 'onnxruntime'] as const) : [ctx.ditProducts];
  try {
    for (const c of ditCases(ctx.smoke, ctx.ditSHead, ctx.ditCases)) {
      for (const products of routes) {
        setOrtMatMul(products === 'onnxruntime');
        ctx.log(`DiT^DH training step: ${c.name}, batch ${c.trainBatch}, products on ${products}`);
        results.push(await timeStep(c, products, ctx));
      }
    }
  } finally {
    setOrtMatMul(routed);
  }
  const base = (r: DiTTrainResult) => results.find((x) => x.name === r.name && x.products === 'xnnpack') ?? r;
  const table: Table = {
    title: `DiT^DH training step on ${ctx.backend} (median; MFU against onnxruntime MatMul on the model's shapes)`,
    headers: ['model, batch', 'products on', 'GFLOP/step', 'steps/s', '× xnnpack', 'GFLOP/s', 'native GFLOP/s', 'MFU', 'peak RSS MB'],
    rows: results.map((r) => [`${r.name}, ${r.batch}`, r.products, fmt(r.stepFlops / 1e9, 2), fmt(r.stepsPerSec, 2), fmt(r.stepsPerSec / base(r).stepsPerSec, 2), fmt(r.gflops), `${fmt(r.nativeGflops)} (${r.nativeShape})`, `${fmt(100 * r.mfu)} %`, fmt(r.peakRssMb, 0)]),
    notes: ['FLOPs: every matmul the step runs (forward + backward, attention included), counted from the kernels; AdamW timed, not counted', 'products on onnxruntime: float32 products of ≥ 2^20 FLOPs (the default with the ort engine); xnnpack: every product on the wasm backend', 'peak RSS: the process high-water mark after the case'],
  };
  return { table, results };
}

async function timeStep(c: DiTCase, products: DiTTrainResult['products'], ctx: BenchContext): Promise<DiTTrainResult> {
  const model = createDiT(c.config, 0);
  const [gh, gw] = model.grid;
  const shape = [c.trainBatch, gh * gw, model.inChannels];
  const rng = new Rng(1);
  const x = rng.randn(shape);
  const labels = tf.tensor1d(Array.from({ length: c.trainBatch }, (_, i) => i % c.config.numClasses), 'int32');
  const transport = raev2Transport(8);
  const params = model.namedParameters().filter(([, v]) => v.trainable);
  const opt = new AdamW(params, { lr: 1e-4, betas: [0.9, 0.95], weightDecay: 0 });
  const step = () => {
    const draw = drawTraining(rng, shape, transport);
    const { grads } = valueAndGrads(() => flowMatchingLoss(model, x, { labels }, draw, transport).loss, params);
    opt.step(grads);
    disposeGrads(grads);
    tf.dispose([draw.t, draw.noise]);
    params[0][1].dataSync();
  };
  step(); // warm-up outside the count (first-call kernel setup)
  const { flops, shapes } = countMatmulFlops(step);
  const ms = await medianMs(step, { ...ctx.timing(flops), warmup: 0 });
  opt.dispose();
  model.dispose();
  tf.dispose([x, labels]);
  const native = await nativePeak(shapes, ctx);
  const g = flops / ms / 1e6;
  return { name: c.name, batch: c.trainBatch, products, stepsPerSec: 1000 / ms, stepFlops: flops, gflops: g, nativeGflops: native.gflops, nativeShape: native.shape, mfu: g / native.gflops, peakRssMb: peakRssMb() };
}
