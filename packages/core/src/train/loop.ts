/**
 * The training loop shared by every `raev2 … train` command: runs `step` from the last checkpoint
 * (or 0) to `totalSteps`, shows progress, appends averaged scalars to `<dir>/log.jsonl`, checkpoints
 * every `checkpointEvery` steps and at the end, and on SIGINT/SIGTERM finishes the current step,
 * checkpoints and returns `{ interrupted: true }` (a second signal, a second or more later, exits at
 * once with 130).
 * The run folder is locked for the run (`io/run_lock.ts`). Non-finite guard: a non-finite logged
 * scalar (loss, gradient norm, …) stops the run, and a checkpoint is written only when every weight
 * and optimiser state is finite; the error names the last checkpoint that passed the check.
 * Resuming restores modules, EMA, optimiser, the RNG, the step, the epoch and `extra`, so a run that
 * draws its data order and noise from `ctx.rng` continues exactly as if it had never stopped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { tf } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import type { Module } from '../nn/module.js';
import { progress } from '../util/progress.js';
import { parseWith } from '../util/config.js';
import { latestCheckpoint, listCheckpoints, loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { appendFileChecked, writeFileAtomic } from '../io/atomic.js';
import { acquireRunLock } from '../io/run_lock.js';
import { NonFiniteError } from '../util/finite.js';
import type { Ema } from './ema.js';
import type { Optimizer } from './optim/optimizer.js';
import { lrAt, type Schedule } from './schedule.js';

/** Mutable run state that is saved with every checkpoint and restored on resume. */
export interface LoopState {
  epoch: number;
  /** JSON-serialisable values the step function wants back after a resume (e.g. a data cursor). */
  extra: Record<string, unknown>;
}

export interface StepContext {
  /** 0-based index of the step being taken (= completed steps so far). */
  step: number;
  /** The run's generator: draw data order and noise from it so a resume reproduces them. */
  rng: Rng;
  state: LoopState;
  /** Learning rate set on the optimiser for this step (when a schedule is given). */
  lr?: number;
}

/** One line of `log.jsonl`: the step count, timing, lr, and each scalar averaged since the last line. */
export interface LogRecord {
  step: number;
  time: string;
  stepsPerSec: number;
  lr?: number;
  [scalar: string]: number | string | undefined;
}

export interface TrainingOptions {
  /** Run directory: checkpoints `ckpt-<step>/`, `latest`, `log.jsonl`. */
  dir: string;
  totalSteps: number;
  checkpointEvery: number;
  /** Log every this many steps (default 10). */
  logEvery?: number;
  /** Checkpoints kept (default 3; 0 keeps all). */
  keep?: number;
  /** Modules saved in model.safetensors under their names. */
  modules: Record<string, Module>;
  optimizer?: Optimizer;
  ema?: Ema;
  rng: Rng;
  /** The validated run config (JSON), saved in state.json and compared on resume. */
  config: unknown;
  /** Config paths allowed to differ on resume (e.g. `['totalSteps']` to extend a run). */
  configIgnore?: readonly string[];
  /** When given, `optimizer.lr = lrAt(schedule, step)` before each step. */
  schedule?: Schedule;
  /** true (default): continue from `dir`'s latest checkpoint; a path: from that checkpoint; false: `dir` must hold none. */
  resume?: boolean | string;
  /** Progress label (default 'train'). */
  label?: string;
  /** Install SIGINT/SIGTERM handlers (default true). */
  handleSignals?: boolean;
  /**
   * Stop after this step and checkpoint, as Ctrl-C would, while the schedule still spans
   * `totalSteps`: the same run without it continues bit-identically (time-boxed jobs, and the exact
   * provenance of a checkpoint taken part-way through a schedule).
   */
  stopAt?: number;
  /** Forward, backward and optimiser update of one step; returns scalars to log (e.g. `{ loss }`). */
  step: (ctx: StepContext) => Record<string, number> | Promise<Record<string, number>>;
  onCheckpoint?: (info: { step: number; path: string }) => void | Promise<void>;
  onLog?: (record: LogRecord) => void;
}

export interface TrainingResult {
  /** Completed steps. */
  step: number;
  /** True when a signal or `stopAt` stopped the run before `totalSteps`. */
  interrupted: boolean;
  signal?: NodeJS.Signals;
  /** Checkpoint the run resumed from. */
  resumedFrom?: string;
  /** The last checkpoint written (or resumed from). */
  checkpoint?: string;
  state: LoopState;
}

export const LOG_FILE = 'log.jsonl';

/** A signal repeated within this many milliseconds counts as the same interrupt. */
export const DUPLICATE_SIGNAL_MS = 1000;

/** Scalars accumulated since the last log line; checkpointed so a resumed run logs the same averages. */
const LoopBookkeeping = z.object({ logWindow: z.record(z.string(), z.object({ sum: z.number(), n: z.number().int().positive() })) });

/** Run (or resume) training; see the file comment. */
export async function runTraining(opts: TrainingOptions): Promise<TrainingResult> {
  const { dir, totalSteps, checkpointEvery } = opts;
  const logEvery = opts.logEvery ?? 10;
  for (const [k, v] of Object.entries({ totalSteps, checkpointEvery, logEvery })) {
    if (!Number.isInteger(v) || v < (k === 'totalSteps' ? 0 : 1)) throw new Error(`runTraining: ${k} must be an integer ≥ ${k === 'totalSteps' ? 0 : 1}, got ${v}`);
  }
  if (opts.stopAt != null && (!Number.isInteger(opts.stopAt) || opts.stopAt < 1)) throw new Error(`runTraining: stopAt must be an integer ≥ 1, got ${opts.stopAt}`);
  const lock = acquireRunLock(dir);
  try {
    return await train(opts, logEvery);
  } finally {
    lock.release();
  }
}

async function train(opts: TrainingOptions, logEvery: number): Promise<TrainingResult> {
  const { dir, totalSteps, checkpointEvery } = opts;
  const state: LoopState = { epoch: 0, extra: {} };
  let step = 0;
  let resumedFrom: string | undefined;
  const window = new Map<string, { sum: number; n: number }>();
  const from = opts.resume === false ? null : typeof opts.resume === 'string' ? opts.resume : latestCheckpoint(dir);
  if (opts.resume === false && listCheckpoints(dir).length) {
    throw new Error(`runTraining: ${dir} already holds checkpoints (latest ${latestCheckpoint(dir)}); resume, or use a new directory`);
  }
  if (from != null) {
    const s = loadCheckpoint(from, { modules: opts.modules, ema: opts.ema, optimizer: opts.optimizer, rng: opts.rng, config: opts.config, configIgnore: opts.configIgnore });
    step = s.step;
    state.epoch = s.epoch;
    state.extra = s.extra;
    const loop = parseWith(LoopBookkeeping, s.loop ?? { logWindow: {} }, `loop state in ${path.join(from, 'state.json')}`);
    for (const [k, w] of Object.entries(loop.logWindow)) window.set(k, w);
    resumedFrom = from;
  }
  truncateLog(path.join(dir, LOG_FILE), step);
  let checkpoint = resumedFrom;
  let savedAt = resumedFrom ? step : -1;

  const lastGood = () => `the last checkpoint that passed the check is ${checkpoint ?? '(none: no checkpoint was written)'}`;
  const save = async () => {
    try {
      checkpoint = saveCheckpoint(dir, { step, epoch: state.epoch, rng: opts.rng, config: opts.config, extra: state.extra, loop: { logWindow: Object.fromEntries(window) }, modules: opts.modules, ema: opts.ema, optimizer: opts.optimizer }, { keep: opts.keep });
    } catch (e) {
      if (e instanceof NonFiniteError) throw new NonFiniteError(`runTraining: training stopped: ${e.message}; ${lastGood()} (lower the learning rate, or clip gradients)`, e.entries);
      throw e;
    }
    savedAt = step;
    await opts.onCheckpoint?.({ step, path: checkpoint });
  };

  let signal: NodeJS.Signals | undefined;
  let signalAt = 0;
  let inStep = false;
  const onSignal = (sig: NodeJS.Signals) => {
    // one interrupt often arrives twice within milliseconds (a signal to the whole process group, and
    // the raev2 launcher forwarding it): a repeat within DUPLICATE_SIGNAL_MS is the same interrupt
    if (signal != null && performance.now() - signalAt < DUPLICATE_SIGNAL_MS) return;
    if (signal != null) process.exit(130); // a second signal: stop now (the last checkpoint is intact)
    signal = sig;
    signalAt = performance.now();
    // a signal is handled either while a step awaits (that step completes) or between steps
    const what = inStep ? `finishing step ${step + 1}` : `stopping after step ${step}`;
    process.stderr.write(`\n${sig}: ${what}, then checkpointing (send again to exit at once)\n`);
  };
  const handle = opts.handleSignals ?? true;
  if (handle) for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, onSignal);

  const stopAt = Math.min(opts.stopAt ?? totalSteps, totalSteps);
  const bar = progress({ label: opts.label ?? 'train', total: totalSteps, unit: 'step', start: step });
  let windowStart = performance.now(), windowSteps = 0;
  let lastValues: Record<string, number> = {};
  let lr: number | undefined;
  let tensorsAtLog = -1, leakWarned = false;
  try {
    while (step < stopAt && signal == null) {
      if (opts.schedule && opts.optimizer) opts.optimizer.lr = lr = lrAt(opts.schedule, step);
      inStep = true;
      lastValues = await opts.step({ step, rng: opts.rng, state, lr });
      inStep = false;
      // stop before a NaN reaches a checkpoint (loss, gradient norm, any logged scalar): the last good one stays `latest`
      const bad = Object.entries(lastValues).filter(([, v]) => !Number.isFinite(v));
      if (bad.length) {
        const what = bad.map(([k, v]) => `${k} is ${v}`).join(', ');
        throw new NonFiniteError(`runTraining: ${what} at step ${step + 1}; ${lastGood()}`, bad.map(([name]) => ({ name, bad: 1, size: 1 })));
      }
      step++;
      windowSteps++;
      for (const [k, v] of Object.entries(lastValues)) {
        const w = window.get(k) ?? { sum: 0, n: 0 };
        w.sum += v;
        w.n++;
        window.set(k, w);
      }
      bar.update(step, lr != null ? { ...lastValues, lr } : lastValues);
      // yield to the event loop so signal handlers run between steps
      await new Promise((r) => setImmediate(r));
      const last = step === stopAt || signal != null;
      // an interrupted run logs nothing extra: its partial window is checkpointed and the resumed run completes it
      if (step % logEvery === 0 || step === totalSteps) {
        const now = performance.now();
        const rec: LogRecord = { step, time: new Date().toISOString(), stepsPerSec: (1000 * windowSteps) / Math.max(now - windowStart, 1e-3) };
        if (lr != null) rec.lr = lr;
        for (const [k, w] of window) rec[k] = w.sum / w.n;
        appendFileChecked(path.join(dir, LOG_FILE), JSON.stringify(rec) + '\n');
        opts.onLog?.(rec);
        window.clear();
        windowStart = now;
        windowSteps = 0;
        const n = tf.memory().numTensors;
        if (tensorsAtLog >= 0 && n > tensorsAtLog && !leakWarned) {
          leakWarned = true;
          process.stderr.write(`warning: live tensors grew from ${tensorsAtLog} to ${n} between logs at step ${step}: the step function leaks tensors\n`);
        }
        tensorsAtLog = n;
      }
      if (step % checkpointEvery === 0 || last) await save();
    }
    if (savedAt !== step) await save();
    if (signal != null && step < totalSteps) process.stderr.write(`${signal}: stopped after step ${step}; checkpoint ${checkpoint} saved (the same command resumes)\n`);
    else if (step < totalSteps) process.stderr.write(`stopped at step ${step} of ${totalSteps} as asked; checkpoint ${checkpoint} saved (the same command without the stop continues)\n`);
  } finally {
    if (handle) for (const s of ['SIGINT', 'SIGTERM'] as const) process.off(s, onSignal);
  }
  bar.finish(lastValues);
  return { step, interrupted: step < totalSteps, signal, resumedFrom, checkpoint, state };
}

/** Drop log lines past `step` (written after the checkpoint a resume starts from) and a torn last line. */
function truncateLog(file: string, step: number): void {
  if (!fs.existsSync(file)) return;
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const kept = lines.filter((l) => {
    try {
      const r = JSON.parse(l) as { step?: unknown };
      return typeof r.step === 'number' && r.step <= step;
    } catch {
      return false;
    }
  });
  if (kept.length !== lines.length) writeFileAtomic(file, kept.map((l) => l + '\n').join(''));
}
