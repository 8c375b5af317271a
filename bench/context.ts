/** What every benchmark section gets: the mode, the backends to time, timing policy and a logger. */
import type { TimingOptions } from './timing.js';

export interface BenchContext {
  /** Tiny sizes and one timed run each (the test's smoke mode). */
  smoke: boolean;
  /** The backend chosen by RAEV2_BACKEND (initialised before the sections run). */
  backend: string;
  /** Also time the pure-JS cpu backend where it stays affordable. */
  cpu: boolean;
  /** onnxruntime-node intra-op threads. */
  onnxThreads: number;
  /** Head width of the DiT-S-sized case (models.ts). */
  ditSHead: number;
  /** DiT cases of the training section: all, or the demo one alone. */
  ditCases: 'all' | 'demo';
  /** DiT cases the thread-scaling children time. */
  scalingCases: 'all' | 'demo';
  /** Where the training section puts the step's large products: each in turn (both), or one. */
  ditProducts: 'both' | 'xnnpack' | 'onnxruntime';
  /** Timing policy for a case of roughly `flops` floating-point operations. */
  timing(flops: number): TimingOptions;
  /** Progress lines (stderr). */
  log(line: string): void;
}

/** Largest case (FLOPs per run) the pure-JS cpu backend is asked to time. */
export const CPU_FLOP_LIMIT = 2.2e9;
