/**
 * Matmul throughput: tf.matMul on the chosen backend (and the cpu backend where affordable)
 * beside the same MatMul run natively by onnxruntime-node in this process, as GFLOP/s
 * (2·M·N·K per product) and the ratio backend / ONNX. Each case also checks that the two agree.
 */
import { tf, Rng, createOnnxSession, ortFloat } from '@raev2/core';
import { buildMatMulModel } from './onnx_matmul.js';
import { CPU_FLOP_LIMIT, type BenchContext } from './context.js';
import { medianMs, gflops, fmt, maxAbsDiff } from './timing.js';
import type { Table } from './table.js';

export interface MatmulCase {
  name: string;
  m: number;
  k: number;
  n: number;
}

export interface MatmulResult extends MatmulCase {
  backend: number;
  cpu: number | null;
  onnx: number;
  /** max |backend − onnx| / max |onnx| on the timed inputs. */
  relDiff: number;
}

/** Square sizes plus the transformer MLP shape [B·N, D] × [D, 4D] (B = 4, N = 256). */
export function matmulCases(smoke: boolean): MatmulCase[] {
  const square = (s: number): MatmulCase => ({ name: `${s}×${s}×${s}`, m: s, k: s, n: s });
  const mlp = (b: number, n: number, d: number): MatmulCase => ({ name: `[${b}·${n}, ${d}]×[${d}, ${4 * d}]`, m: b * n, k: d, n: 4 * d });
  return smoke ? [square(64), mlp(2, 16, 32)] : [square(256), square(512), square(1024), square(2048), mlp(4, 256, 384), mlp(4, 256, 768)];
}

async function timeTf(backend: string, a: Float32Array, b: Float32Array, c: MatmulCase, ctx: BenchContext): Promise<{ ms: number; out: Float32Array }> {
  await tf.setBackend(backend);
  const at = tf.tensor2d(a, [c.m, c.k]), bt = tf.tensor2d(b, [c.k, c.n]);
  let out: Float32Array = new Float32Array(0);
  const ms = await medianMs(() => {
    const y = tf.matMul(at, bt);
    out = y.dataSync() as Float32Array;
    y.dispose();
  }, ctx.timing(2 * c.m * c.n * c.k));
  tf.dispose([at, bt]);
  return { ms, out };
}

export async function benchMatmul(ctx: BenchContext): Promise<{ table: Table; results: MatmulResult[] }> {
  const results: MatmulResult[] = [];
  const rng = new Rng(0);
  for (const c of matmulCases(ctx.smoke)) {
    ctx.log(`matmul ${c.name}`);
    const flops = 2 * c.m * c.n * c.k;
    const a = rng.uniformArray(c.m * c.k, -1, 1), b = rng.uniformArray(c.k * c.n, -1, 1);
    const main = await timeTf(ctx.backend, a, b, c, ctx);
    const cpu = ctx.cpu && ctx.backend !== 'cpu' && flops <= CPU_FLOP_LIMIT ? await timeTf('cpu', a, b, c, ctx) : null;
    await tf.setBackend(ctx.backend);
    const session = await createOnnxSession(buildMatMulModel(c.m, c.k, c.n), { threads: ctx.onnxThreads });
    const feeds = { A: ortFloat(a, [c.m, c.k]), B: ortFloat(b, [c.k, c.n]) };
    let onnxOut: Float32Array = new Float32Array(0);
    const onnxMs = await medianMs(async () => {
      const r = await session.run(feeds);
      onnxOut = r.Y.data as Float32Array;
    }, ctx.timing(flops));
    await session.release();
    const scale = onnxOut.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
    results.push({ ...c, backend: gflops(flops, main.ms), cpu: cpu ? gflops(flops, cpu.ms) : null, onnx: gflops(flops, onnxMs), relDiff: maxAbsDiff(main.out, onnxOut) / scale });
  }
  const table: Table = {
    title: 'matmul (GFLOP/s, median)',
    headers: ['M×K×N', ctx.backend, 'cpu', 'onnx', `${ctx.backend}/onnx`, 'rel diff'],
    rows: results.map((r) => [r.name === `${r.m}×${r.m}×${r.m}` ? r.name : `${r.name} = ${r.m}×${r.k}×${r.n}`, fmt(r.backend), fmt(r.cpu, 2), fmt(r.onnx), fmt(r.backend / r.onnx, 2), r.relDiff.toExponential(1)]),
    notes: [`cpu (pure JS) only for cases ≤ ${CPU_FLOP_LIMIT / 1e9} GFLOP; rel diff = max |${ctx.backend} − onnx| / max |onnx|`],
  };
  return { table, results };
}
