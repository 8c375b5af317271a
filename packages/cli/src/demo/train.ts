/**
 * The demo's training stage. The latent statistics come from the frozen encoder alone (noise-free
 * Welford over the training images), so the decoder and the DiT do not depend on each other: with
 * two or more cores the decoder trains in a child process (`decoder_child.ts`, one core) while the
 * DiT trains here (the other core) — single-threaded wasm uses one core, and two processes scale
 * better than wasm threads. With one core they run one after the other. Ctrl-C stops both at a
 * checkpoint; a re-run resumes both.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  ImageStore,
  disposeStats,
  loadStats,
  openDataSource,
  probeLatent,
  stage1Split,
  stage2Data,
  trainStage2,
  writeFileAtomic,
  STAGE1_FILES,
  type MetricsRecord,
  type Stage1Config,
  type Stage2Config,
  type Stage2Parts,
} from '@raev2/core';
import { formatEncoderSpec, loadEncoder, parseEncoderSpec, withResolution } from '@raev2/encoders';
import { runStage1Train, writeLatentStats } from '../runs/stage1.js';

/** Side of the decoder's output (= the size images are loaded at for both stages): latent grid × decoder patch. */
export function decoderImageSize(cfg: Stage1Config, grid: [number, number], encoderPatch: number): [number, number] {
  const p = Number(cfg.decoder.overrides.patch_size ?? encoderPatch);
  return [grid[0] * p, grid[1] * p];
}

/** Noise-free latent statistics of the stage-1 training split → `file` (what the stage-1 run also computes at its end). */
export async function computeLatentStats(cfg: Stage1Config, file: string): Promise<number> {
  const { train } = stage1Split(openDataSource(cfg.data), cfg.heldOut, cfg.splitSeed, cfg.maxImages);
  const loaded = await loadEncoder(withResolution(cfg.encoder, cfg.imageSize));
  try {
    const { grid } = probeLatent(loaded.encoder, loaded.selection);
    const store = await ImageStore.load(train, decoderImageSize(cfg, grid, loaded.encoder.patchSize));
    return writeLatentStats(loaded, store, file, { spec: cfg.encoder, data: cfg.data, batch: cfg.encodeBatch });
  } finally {
    loaded.encoder.dispose();
  }
}

/** Train (or resume) the DiT on the standardised latents of images loaded at `imageSize` (as stage 1 loads them); no decoder is needed. */
export async function trainDiT(cfg: Stage2Config, imageSize: [number, number], onMetrics?: (m: MetricsRecord) => void): Promise<{ interrupted: boolean; step: number }> {
  if (cfg.encoder == null || cfg.stats == null) throw new Error('trainDiT: the stage-2 config needs encoder and stats');
  const spec = withResolution(cfg.encoder, cfg.imageSize);
  const { encoder, selection } = await loadEncoder(spec);
  try {
    const { grid, channels } = probeLatent(encoder, selection);
    const stats = loadStats(cfg.stats, [grid[0] * grid[1], channels]);
    try {
      const parts: Stage2Parts = { encoder, selection, encoderSpec: formatEncoderSpec(parseEncoderSpec(spec)), imageSize, stats, data: stage2Data(cfg), decode: null, featureEncoders: {} };
      const r = await trainStage2(cfg, parts, grid, channels, { resume: true, onMetrics });
      return { interrupted: r.interrupted, step: r.step };
    } finally {
      disposeStats(stats);
    }
  } finally {
    encoder.dispose();
  }
}

export interface DecoderRun {
  /** Exit code: 0 done, 130 interrupted, other: failed (see the log). */
  done: Promise<number>;
  /** Forward Ctrl-C once (the child checkpoints and exits 130). */
  interrupt(): void;
  log: string;
}

/** Train the decoders of `configs`, in order, in a child process (output to `<work>/decoder.log`). */
export function startDecoderProcess(configs: Stage1Config[], work: string): DecoderRun {
  const cfgFiles = configs.map((cfg, i) => {
    const f = path.join(work, `decoder-${i}.config.json`);
    writeFileAtomic(f, JSON.stringify(cfg, null, 2) + '\n');
    return f;
  });
  const log = path.join(work, 'decoder.log');
  const fd = fs.openSync(log, 'a');
  const here = fileURLToPath(import.meta.url);
  const entry = path.join(path.dirname(here), `decoder_child${path.extname(here)}`);
  // its own process group: a terminal Ctrl-C reaches only this process, which forwards it exactly once
  const child = spawn(process.execPath, [...process.execArgv, entry, ...cfgFiles], { stdio: ['ignore', fd, fd], detached: true, env: { ...process.env, RAEV2_WASM_THREADS: '1' } });
  fs.closeSync(fd);
  const orphanGuard = () => child.kill('SIGKILL');
  process.on('exit', orphanGuard);
  const done = new Promise<number>((resolve) => {
    child.on('error', () => resolve(1));
    child.on('exit', (code, signal) => {
      process.off('exit', orphanGuard);
      resolve(code ?? (signal === 'SIGINT' ? 130 : 1));
    });
  });
  let sent = false; // a second SIGINT would make the child exit without its checkpoint
  const interrupt = () => {
    if (sent || child.exitCode != null) return;
    sent = true;
    child.kill('SIGINT');
  };
  return { done, interrupt, log };
}

/**
 * Train the decoders (`decoders`: the main stage-1 run, then any K-sweep runs) and the DiT,
 * concurrently when `parallel`; false when interrupted.
 */
export async function trainBoth(o: {
  decoders: Stage1Config[];
  cfg2: Stage2Config;
  imageSize: [number, number];
  work: string;
  parallel: boolean;
  ditDone: () => boolean;
  log: (s: string) => void;
  onMetrics?: (m: MetricsRecord) => void;
}): Promise<boolean> {
  const { log } = o;
  const pending = o.decoders.filter((c) => !fs.existsSync(path.join(c.out, STAGE1_FILES.summary)));
  if (!o.parallel) {
    for (const c of pending) {
      const r = await runStage1Train(c, { resume: true });
      if (r.interrupted) return false;
    }
    return o.ditDone() || !(await trainDiT(o.cfg2, o.imageSize, o.onMetrics)).interrupted;
  }
  const child = pending.length ? startDecoderProcess(pending, o.work) : null;
  if (child) log(`decoder${pending.length > 1 ? `s (${pending.length} runs)` : ''}: training in a second process (log: ${child.log})`);
  let stopped = false;
  const forward = () => {
    stopped = true;
    child?.interrupt();
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    let ditOk = true;
    if (!o.ditDone()) ditOk = !(await trainDiT(o.cfg2, o.imageSize, o.onMetrics)).interrupted;
    if (!child) return ditOk;
    if (!ditOk || stopped) child.interrupt();
    const waitLog = setInterval(() => log(`waiting for the decoder: ${pending.map((c) => `${path.basename(c.out)} ${lastStep(c.out)}/${c.steps ?? '?'}`).join(', ')} steps`), 20_000);
    let code: number;
    try {
      code = await child.done;
    } finally {
      clearInterval(waitLog);
    }
    if (code !== 0 && code !== 130) throw new Error(`decoder training failed (exit ${code}); its log ${child.log} ends:\n${tail(child.log)}`);
    return ditOk && code === 0;
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}

function lastStep(run: string): number {
  const f = path.join(run, 'log.jsonl');
  if (!fs.existsSync(f)) return 0;
  const lines = fs.readFileSync(f, 'utf8').trim().split('\n');
  try {
    return (JSON.parse(lines[lines.length - 1]) as { step?: number }).step ?? 0;
  } catch {
    return 0;
  }
}

function tail(file: string, n = 20): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').slice(-n).join('\n') : '(no log)';
}
