/**
 * Thread scaling 1 → N in one run: the DiT^DH training-step section again in child processes (a
 * wasm backend's thread count is fixed per process), first the pre-#13 baseline (1 thread, wasm's
 * own Concat/Slice: RAEV2_WASM_FAST_COPIES=0, every product on XNNPACK: RAEV2_ENGINE=tfjs), then
 * wasm and onnxruntime threads both set to T ∈ {1, 2, 4, …, N}, each with the products on XNNPACK
 * (tfjs engine) and on onnxruntime (ort engine, the default: runtime/ort_matmul.ts); steps/s,
 * speed-up over the baseline, MFU and peak RSS.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MAX_WASM_THREADS } from '@raev2/core';
import type { BenchContext } from './context.js';
import type { DiTTrainResult } from './dit_train.js';
import { fmt } from './timing.js';
import type { Table } from './table.js';

export interface ScalingResult {
  threads: number;
  /** The pre-#13 baseline row (1 thread, wasm's own copy kernels, XNNPACK products). */
  baseline: boolean;
  cases: DiTTrainResult[];
}

/** 1, 2, 4, … up to `max`, and `max` itself. */
export function threadCounts(max: number): number[] {
  const out: number[] = [];
  for (let t = 1; t < max; t *= 2) out.push(t);
  out.push(max);
  return out;
}

export async function benchScaling(ctx: BenchContext): Promise<{ table: Table; results: ScalingResult[] }> {
  const max = Math.min(MAX_WASM_THREADS, os.availableParallelism());
  const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'index.ts');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-bench-'));
  const results: ScalingResult[] = [];
  try {
    const runs = [{ t: 1, baseline: true }, ...threadCounts(max).map((t) => ({ t, baseline: false }))];
    for (const { t, baseline } of runs) {
      ctx.log(`thread scaling: DiT^DH training step with ${t} thread(s)${baseline ? ', baseline kernels' : ''} (child process)`);
      const json = path.join(dir, `t${t}${baseline ? 'b' : ''}.json`);
      const args = [...process.execArgv, entry, '--only', 'dit-train', '--threads', String(t), '--onnx-threads', String(t), '--json', json, '--dit-s-head', String(ctx.ditSHead), '--dit-cases', ctx.scalingCases, '--dit-products', baseline ? 'xnnpack' : 'both'];
      if (ctx.smoke) args.push('--smoke');
      const env = { ...process.env, RAEV2_BACKEND: ctx.backend, RAEV2_WASM_FAST_COPIES: baseline ? '0' : '1', RAEV2_ENGINE: baseline ? 'tfjs' : 'ort' };
      const r = spawnSync(process.execPath, args, { encoding: 'utf8', env, timeout: 30 * 60_000 });
      if (r.status !== 0) throw new Error(`thread scaling child (${t} threads) failed: ${r.stderr.slice(-1500)}`);
      const report = JSON.parse(fs.readFileSync(json, 'utf8')) as { ditTrain: DiTTrainResult[] };
      results.push({ threads: t, baseline, cases: report.ditTrain });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const base = results[0];
  const baseOf = (c: DiTTrainResult) => base.cases.find((b) => b.name === c.name)!;
  const rows = results.flatMap((r) => r.cases.map((c) => [r.baseline ? `${r.threads} (pre-#13)` : String(r.threads), c.products, `${c.name}, ${c.batch}`, fmt(c.stepsPerSec, 2), fmt(c.stepsPerSec / baseOf(c).stepsPerSec, 2), fmt(c.gflops), fmt(c.nativeGflops), `${fmt(100 * c.mfu)} %`, fmt(c.peakRssMb, 0)]));
  const table: Table = {
    title: `thread scaling: DiT^DH training step on ${ctx.backend} (one child process per thread count)`,
    headers: ['threads', 'products on', 'model, batch', 'steps/s', '× pre-#13', 'GFLOP/s', 'native GFLOP/s', 'MFU', 'peak RSS MB'],
    rows,
    notes: ['wasm threads and onnxruntime intra-op threads both = T; pre-#13 = 1 thread (the old default), wasm\'s own Concat/Slice kernels and every product on XNNPACK', 'products on onnxruntime: float32 BatchMatMuls of ≥ 2^20 FLOPs, forward and backward (the default with the ort engine)'],
  };
  return { table, results };
}
