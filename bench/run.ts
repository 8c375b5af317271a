/** Runs the benchmark sections and collects their tables and raw results. */
import * as os from 'node:os';
import { initRuntime, ortMatMulEnabled, setOrtMatMul } from '@raev2/core';
import type { BenchContext } from './context.js';
import type { TimingOptions } from './timing.js';
import { machineInfo, type MachineInfo } from './machine.js';
import { benchMatmul, type MatmulResult } from './matmul.js';
import { benchBlock, type BlockResult } from './block.js';
import { benchEncoder, type EncoderResult } from './encoder.js';
import { benchDiTTrain, type DiTTrainResult } from './dit_train.js';
import { benchSampling, type SamplingResult } from './sampling.js';
import { benchDecoder, type DecoderResult } from './decoder.js';
import { benchScaling, type ScalingResult } from './scaling.js';
import { benchDemoEval, type DemoEvalResult } from './demo_eval.js';
import type { Table } from './table.js';

/** Every section, in run order (`scaling` re-runs dit-train in child processes per thread count; `demo-eval` runs `npm run demo` in children). */
export const SECTIONS = ['matmul', 'block', 'encoder', 'dit-train', 'sampling', 'decoder', 'scaling', 'demo-eval'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  smoke?: boolean;
  sections?: readonly Section[];
  /** Time the pure-JS cpu backend too where affordable (default true). */
  cpu?: boolean;
  /** wasm threads (see runtime/wasm_threads.ts); default RAEV2_WASM_THREADS, else every core. */
  threads?: number;
  /** onnxruntime intra-op threads (default every core). */
  onnxThreads?: number;
  /** Head width of the DiT-S-sized case (default 512). */
  ditSHead?: number;
  /** DiT training cases: all (default) or the demo one alone. */
  ditCases?: 'all' | 'demo';
  /** DiT cases the thread-scaling children time (default demo). */
  scalingCases?: 'all' | 'demo';
  /** Training-step products on XNNPACK, onnxruntime or both in turn (default both). */
  ditProducts?: 'both' | 'xnnpack' | 'onnxruntime';
  log?: (line: string) => void;
}

export interface BenchReport {
  machine: MachineInfo;
  tables: Table[];
  matmul?: MatmulResult[];
  block?: BlockResult[];
  encoder?: EncoderResult[];
  ditTrain?: DiTTrainResult[];
  sampling?: SamplingResult[];
  decoder?: DecoderResult[];
  scaling?: ScalingResult[];
  demoEval?: DemoEvalResult[];
  seconds: number;
}

/**
 * Timing policy: smoke = one run; small cases (< 1 GFLOP) 5–15 runs in ~1.5 s, medium ones 3–7 in
 * ~4 s, huge ones (encoder forwards, > 20 GFLOP) 2–3, so that a full run stays within minutes.
 */
function timingPolicy(smoke: boolean): (flops: number) => TimingOptions {
  if (smoke) return () => ({ warmup: 1, repeats: 1 });
  return (flops) =>
    flops < 1e9 ? { warmup: 2, repeats: 15, minRepeats: 5, budgetMs: 1500 }
    : flops < 2e10 ? { warmup: 1, repeats: 7, minRepeats: 3, budgetMs: 4000 }
    : { warmup: 1, repeats: 3, minRepeats: 2, budgetMs: 4000 };
}

export async function runBench(opts: BenchOptions = {}): Promise<BenchReport> {
  const t0 = performance.now();
  const backend = await initRuntime({ threads: opts.threads, log: false });
  const onnxThreads = opts.onnxThreads ?? os.availableParallelism();
  const ctx: BenchContext = {
    smoke: opts.smoke ?? false,
    backend,
    cpu: opts.cpu ?? true,
    onnxThreads,
    ditSHead: opts.ditSHead ?? 512,
    ditCases: opts.ditCases ?? 'all',
    scalingCases: opts.scalingCases ?? 'demo',
    ditProducts: opts.ditProducts ?? 'both',
    timing: timingPolicy(opts.smoke ?? false),
    log: opts.log ?? (() => {}),
  };
  const sections = new Set(opts.sections ?? SECTIONS);
  const report: BenchReport = { machine: machineInfo(onnxThreads), tables: [], seconds: 0 };
  const routed = ortMatMulEnabled();
  const run = async <R>(name: Section, fn: (c: BenchContext) => Promise<{ table: Table; results: R }>, put: (r: R) => void) => {
    if (!sections.has(name)) return;
    // the tfjs columns are the tfjs engine: every product on the tensor backend (dit-train times both)
    setOrtMatMul(name === 'dit-train' ? routed : false);
    const r = await fn(ctx);
    setOrtMatMul(routed);
    report.tables.push(r.table);
    put(r.results);
  };
  await run('matmul', benchMatmul, (r) => { report.matmul = r; });
  await run('block', benchBlock, (r) => { report.block = r; });
  await run('encoder', benchEncoder, (r) => { report.encoder = r; });
  await run('dit-train', benchDiTTrain, (r) => { report.ditTrain = r; });
  await run('sampling', benchSampling, (r) => { report.sampling = r; });
  await run('decoder', benchDecoder, (r) => { report.decoder = r; });
  await run('scaling', benchScaling, (r) => { report.scaling = r; });
  await run('demo-eval', benchDemoEval, (r) => { report.demoEval = r; });
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}
