/**
 * Model FLOPs by counting: every BatchMatMul the backend runs while `fn` executes adds
 * 2·batch·M·N·K (attention products included), read from the kernel's input shapes. The distinct
 * shapes are kept so that the native GEMM (onnxruntime's MLAS) can be timed on exactly the shapes the
 * model runs, for MFU = model FLOP/s ÷ the best native rate on those shapes.
 */
import { tf, Rng, createOnnxSession, ortFloat, matMulGeometry } from '@raev2/core';
import { buildMatMulModel } from './onnx_matmul.js';
import { medianMs, gflops } from './timing.js';
import type { BenchContext } from './context.js';

export interface MatmulShape {
  m: number;
  k: number;
  n: number;
  /** FLOPs over all calls with this shape (batch dims folded into calls). */
  flops: number;
}

interface Info { shape: number[] }

/** Run `fn` once with a counting BatchMatMul on the active backend; returns total FLOPs and the shapes. */
export function countMatmulFlops(fn: () => void): { flops: number; shapes: MatmulShape[] } {
  const backend = tf.getBackend();
  const k = tf.getKernel('BatchMatMul', backend);
  if (k == null) throw new Error(`no BatchMatMul kernel on ${backend}`);
  const shapes = new Map<string, MatmulShape>();
  let total = 0;
  const inner = k.kernelFunc as unknown as (a: { inputs: { a: Info; b: Info }; attrs: { transposeA: boolean; transposeB: boolean } }) => unknown;
  tf.unregisterKernel('BatchMatMul', backend);
  tf.registerKernel({
    ...k,
    kernelFunc: ((args: { inputs: { a: Info; b: Info }; attrs: { transposeA: boolean; transposeB: boolean } }) => {
      const { a, b } = args.inputs;
      const { flops: f, m, k: kk, n } = matMulGeometry(a.shape, b.shape, args.attrs.transposeA, args.attrs.transposeB);
      total += f;
      const key = `${m}x${kk}x${n}`;
      const s = shapes.get(key) ?? { m, k: kk, n, flops: 0 };
      s.flops += f;
      shapes.set(key, s);
      return inner(args);
    }) as unknown as tf.KernelFunc,
  });
  try {
    fn();
  } finally {
    tf.unregisterKernel('BatchMatMul', backend);
    tf.registerKernel(k);
  }
  return { flops: total, shapes: [...shapes.values()].sort((x, y) => y.flops - x.flops) };
}

/** Best onnxruntime MatMul GFLOP/s over the `top` shapes carrying the most FLOPs (each timed natively). */
export async function nativePeak(shapes: MatmulShape[], ctx: BenchContext, top = 3): Promise<{ gflops: number; shape: string }> {
  let best = { gflops: 0, shape: '' };
  const rng = new Rng(11);
  for (const s of shapes.slice(0, top)) {
    const session = await createOnnxSession(buildMatMulModel(s.m, s.k, s.n), { threads: ctx.onnxThreads });
    const feeds = { A: ortFloat(rng.uniformArray(s.m * s.k, -1, 1), [s.m, s.k]), B: ortFloat(rng.uniformArray(s.k * s.n, -1, 1), [s.k, s.n]) };
    const f = 2 * s.m * s.n * s.k;
    const ms = await medianMs(async () => { await session.run(feeds); }, ctx.timing(f));
    await session.release();
    const g = gflops(f, ms);
    if (g > best.gflops) best = { gflops: g, shape: `${s.m}×${s.k}×${s.n}` };
  }
  return best;
}
