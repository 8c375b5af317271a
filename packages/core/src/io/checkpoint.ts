/**
 * Training checkpoints. A checkpoint is a directory `<run dir>/ckpt-<step>` holding
 *   model.safetensors      every module's state dict, keys prefixed by module name: `<module>.<key>`
 *                          (e.g. `decoder.blocks.0.attn.qkv.weight`); module names contain no '.'
 *   ema.safetensors        EMA shadows by the names the Ema tracks (when there is an EMA)
 *   optimizer.safetensors  optimiser state by `<slot>/<param>` (see train/optim/optimizer.ts)
 *   state.json             schema version, step, epoch, rng state, config, extra JSON, and the
 *                          byte size + sha256 of every file above
 * Only finite state is written (the non-finite guard, util/finite.ts): weights and EMA within
 * ±√FLT_MAX, optimiser state finite; otherwise a NonFiniteError names the tensors and nothing is written.
 * Writing is atomic: everything goes into `ckpt-<step>.tmp-<pid>-<time>`, each file fsynced, the folder
 * renamed to `ckpt-<step>`, then the `latest` pointer file is replaced atomically; older checkpoints
 * beyond `keep` are deleted. Reading validates state.json with zod and every file's size and
 * checksum before loading anything, so a truncated or corrupted file fails by name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Tensor } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import type { Module } from '../nn/module.js';
import type { Ema } from '../train/ema.js';
import type { Optimizer } from '../train/optim/optimizer.js';
import { serializeSafetensors, SafetensorsFile } from './safetensors.js';
import { fsyncDir, replaceDir, tempPathFor, writeError, writeFileAtomic, writeFileSynced } from './atomic.js';
import { FLOAT32_SQUARE_SAFE, NonFiniteError, describeNonFinite, findNonFinite } from '../util/finite.js';
import { ensureDir } from './output.js';
import { parseWith } from '../util/config.js';

export const CHECKPOINT_SCHEMA_VERSION = 1;
export const MODEL_FILE = 'model.safetensors';
export const EMA_FILE = 'ema.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const STATE_FILE = 'state.json';
export const LATEST_FILE = 'latest';

/** A file's size and sha256, as recorded in a checkpoint's state.json (or any manifest). */
export const FileEntrySchema = z.object({ bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected a hex sha256') }).strict();
export type FileEntry = z.infer<typeof FileEntrySchema>;

export const CheckpointStateSchema = z
  .object({
    schemaVersion: z.literal(CHECKPOINT_SCHEMA_VERSION),
    step: z.number().int().nonnegative(),
    epoch: z.number().int().nonnegative(),
    /** `Rng.state()` of the run's generator, or null when none was saved. */
    rng: z.array(z.number().int().min(0).max(0xffffffff)).length(4).nullable(),
    /** The run's config (validated by the caller's own schema). */
    config: z.unknown(),
    extra: z.record(z.string(), z.unknown()),
    /** runTraining's own bookkeeping (e.g. the partial log window), validated there. */
    loop: z.record(z.string(), z.unknown()).optional(),
    /** Module names stored in model.safetensors. */
    modules: z.array(z.string()),
    files: z.record(z.string(), FileEntrySchema),
    createdAt: z.string(),
  })
  .strict();

export type CheckpointState = z.infer<typeof CheckpointStateSchema>;

/** What to save; `step` = number of completed optimisation steps. */
export interface CheckpointData {
  step: number;
  epoch?: number;
  rng?: Rng;
  config?: unknown;
  extra?: Record<string, unknown>;
  /** The training loop's bookkeeping (see train/loop.ts). */
  loop?: Record<string, unknown>;
  modules?: Record<string, Module>;
  ema?: Ema;
  optimizer?: Optimizer;
}

export interface SaveCheckpointOptions {
  /** Keep only the newest `keep` checkpoints (default 3; 0 keeps all). */
  keep?: number;
}

/** Where to restore into; anything omitted is not loaded. */
export interface LoadCheckpointTargets {
  modules?: Record<string, Module>;
  ema?: Ema;
  optimizer?: Optimizer;
  rng?: Rng;
  /** The current run's config: loading fails if it differs from the saved one outside `configIgnore`. */
  config?: unknown;
  /** Dotted config paths (or prefixes) allowed to differ, e.g. `['totalSteps', 'log']`. */
  configIgnore?: readonly string[];
}

/** A config field that differs between the checkpoint and the run. */
export interface ConfigDifference {
  path: string;
  saved: unknown;
  current: unknown;
}

const CKPT_RE = /^ckpt-(\d+)$/;
const MODULE_NAME_RE = /^[A-Za-z0-9_-]+$/;

/** Write a checkpoint of `data` into `<dir>/ckpt-<step>` atomically; returns its path. */
export function saveCheckpoint(dir: string, data: CheckpointData, opts: SaveCheckpointOptions = {}): string {
  if (!Number.isInteger(data.step) || data.step < 0) throw new Error(`saveCheckpoint: step must be a non-negative integer, got ${data.step}`);
  ensureDir(dir);
  const name = `ckpt-${data.step}`;
  const final = path.join(dir, name);
  const modules = Object.entries(data.modules ?? {});
  const all = new Map<string, Tensor>();
  for (const [m, mod] of modules) {
    if (!MODULE_NAME_RE.test(m)) throw new Error(`saveCheckpoint: module name "${m}" must match ${MODULE_NAME_RE}`);
    for (const [k, t] of mod.stateDict()) all.set(`${m}.${k}`, t); // live tensors: not disposed
  }
  const emaSd = data.ema?.stateDict();
  const optSd = data.optimizer?.stateDict();
  const tmp = tempPathFor(final);
  try {
    // the non-finite guard: weights (and their EMA) must stay squarable in float32, optimiser state finite
    const bad = [
      ...findNonFinite(all, { bound: FLOAT32_SQUARE_SAFE }),
      ...findNonFinite(emaSd ?? new Map(), { bound: FLOAT32_SQUARE_SAFE }).map((e) => ({ ...e, name: `ema:${e.name}` })),
      ...findNonFinite(optSd ?? new Map()).map((e) => ({ ...e, name: `optimizer:${e.name}` })),
    ];
    if (bad.length) throw new NonFiniteError(`checkpoint at step ${data.step} not written: non-finite values (NaN, Inf or |x| > ${FLOAT32_SQUARE_SAFE.toExponential(2)}) in ${describeNonFinite(bad)}`, bad);
    fs.mkdirSync(tmp);
    const files: Record<string, FileEntry> = {};
    const writeTensors = (file: string, tensors: Map<string, Tensor>) => {
      files[file] = writeSynced(path.join(tmp, file), serializeSafetensors(tensors));
    };
    if (modules.length) writeTensors(MODEL_FILE, all);
    if (emaSd) writeTensors(EMA_FILE, emaSd);
    if (optSd) writeTensors(OPTIMIZER_FILE, optSd);
    const state: CheckpointState = {
      schemaVersion: CHECKPOINT_SCHEMA_VERSION,
      step: data.step,
      epoch: data.epoch ?? 0,
      rng: data.rng ? data.rng.state() : null,
      config: toJson(data.config ?? null, 'config'),
      extra: toJson(data.extra ?? {}, 'extra') as Record<string, unknown>,
      ...(data.loop ? { loop: toJson(data.loop, 'loop state') as Record<string, unknown> } : {}),
      modules: modules.map(([m]) => m),
      files,
      createdAt: new Date().toISOString(),
    };
    writeSynced(path.join(tmp, STATE_FILE), Buffer.from(JSON.stringify(state, null, 2) + '\n'));
    fsyncDir(tmp);
    replaceDir(tmp, final);
    fsyncDir(dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e instanceof NonFiniteError || !(e as NodeJS.ErrnoException).code ? e : writeError(final, e, 'cannot write checkpoint');
  } finally {
    for (const t of [...(emaSd?.values() ?? []), ...(optSd?.values() ?? [])]) t.dispose();
  }
  writeFileAtomic(path.join(dir, LATEST_FILE), name + '\n');
  fsyncDir(dir);
  prune(dir, final, opts.keep ?? 3);
  return final;
}

/** Complete checkpoints in `dir` (folders `ckpt-<step>` with a state.json), oldest first. */
export function listCheckpoints(dir: string): { step: number; path: string }[] {
  if (!fs.existsSync(dir)) return [];
  const out: { step: number; path: string }[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const m = CKPT_RE.exec(e.name);
    if (m && e.isDirectory() && fs.existsSync(path.join(dir, e.name, STATE_FILE))) out.push({ step: Number(m[1]), path: path.join(dir, e.name) });
  }
  return out.sort((a, b) => a.step - b.step);
}

/** The checkpoint the `latest` pointer names (falling back to the highest step when the pointer is missing or stale), or null. */
export function latestCheckpoint(dir: string): string | null {
  const pointer = path.join(dir, LATEST_FILE);
  if (fs.existsSync(pointer)) {
    const name = fs.readFileSync(pointer, 'utf8').trim();
    if (CKPT_RE.test(name) && fs.existsSync(path.join(dir, name, STATE_FILE))) return path.join(dir, name);
  }
  const all = listCheckpoints(dir);
  return all.length ? all[all.length - 1].path : null;
}

/** Read and validate `<ckpt>/state.json` (errors name the file and field). */
export function readCheckpointState(ckpt: string): CheckpointState {
  const file = path.join(ckpt, STATE_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`checkpoint ${ckpt}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`checkpoint ${ckpt}: ${file} is not valid JSON (${(e as Error).message}) — the file is truncated or corrupted`);
  }
  return parseWith(CheckpointStateSchema, json, `checkpoint state ${file}`);
}

/** Check every file listed in state.json: present, of the recorded size, with the recorded sha256. */
export function verifyCheckpoint(ckpt: string, state = readCheckpointState(ckpt), only?: readonly string[]): void {
  const files = Object.entries(state.files).filter(([f]) => !only || only.includes(f));
  verifyFiles(ckpt, Object.fromEntries(files), `checkpoint ${ckpt}`, 'state.json');
}

/** Size and sha256 of a file (read in chunks, so any size works). */
export function fileEntry(file: string): FileEntry {
  return { bytes: fs.statSync(file).size, sha256: sha256File(file) };
}

/**
 * Check files of `dir` against their recorded entries: present, of the recorded size, with the
 * recorded sha256. Errors start with `what` and name the file and the `listedIn` record.
 */
export function verifyFiles(dir: string, files: Record<string, FileEntry>, what: string, listedIn: string): void {
  for (const [file, want] of Object.entries(files)) {
    const p = path.join(dir, file);
    let size: number;
    try {
      size = fs.statSync(p).size;
    } catch {
      throw new Error(`${what}: ${p} is missing (${listedIn} lists it)`);
    }
    if (size !== want.bytes) throw new Error(`${what}: ${p} has ${size} bytes but ${listedIn} records ${want.bytes} — the file is truncated or was replaced`);
    const got = sha256File(p);
    if (got !== want.sha256) throw new Error(`${what}: ${p} fails its checksum (sha256 ${got.slice(0, 12)}…, expected ${want.sha256.slice(0, 12)}…) — the file is corrupted`);
  }
}

/**
 * Restore a checkpoint into `targets` and return its validated state. Everything requested is
 * checked first (state.json, config, file sizes and checksums); module loads are strict.
 */
export function loadCheckpoint(ckpt: string, targets: LoadCheckpointTargets = {}): CheckpointState {
  const state = readCheckpointState(ckpt);
  if (targets.config !== undefined) assertSameConfig(state.config, targets.config, targets.configIgnore ?? [], `checkpoint ${ckpt}`);
  const needed: string[] = [];
  const moduleNames = Object.keys(targets.modules ?? {});
  if (moduleNames.length) {
    const absent = moduleNames.filter((m) => !state.modules.includes(m));
    if (absent.length) throw new Error(`checkpoint ${ckpt}: no module(s) ${absent.join(', ')} in ${MODEL_FILE} (it holds: ${state.modules.join(', ') || 'none'})`);
    needed.push(MODEL_FILE);
  }
  if (targets.ema) needed.push(EMA_FILE);
  if (targets.optimizer) needed.push(OPTIMIZER_FILE);
  for (const f of needed) if (!(f in state.files)) throw new Error(`checkpoint ${ckpt}: has no ${f} but the run expects one (state.json lists: ${Object.keys(state.files).join(', ') || 'nothing'})`);
  if (targets.rng && state.rng == null) throw new Error(`checkpoint ${ckpt}: state.json has no rng state but the run expects one`);
  verifyCheckpoint(ckpt, state, needed);

  if (moduleNames.length) {
    const file = path.join(ckpt, MODEL_FILE);
    for (const m of moduleNames) {
      withTensors(file, (k) => k.startsWith(`${m}.`), (sd) => {
        const own = new Map([...sd].map(([k, t]) => [k.slice(m.length + 1), t] as [string, Tensor]));
        targets.modules![m].loadStateDict(own, { source: `${file} [module ${m}]` });
      });
    }
  }
  if (targets.ema) withTensors(path.join(ckpt, EMA_FILE), () => true, (sd) => targets.ema!.loadStateDict(sd, path.join(ckpt, EMA_FILE)));
  if (targets.optimizer) withTensors(path.join(ckpt, OPTIMIZER_FILE), () => true, (sd) => targets.optimizer!.loadStateDict(sd, path.join(ckpt, OPTIMIZER_FILE)));
  if (targets.rng) targets.rng.setState(state.rng!);
  return state;
}

/**
 * Load one module's weights from a checkpoint for inference. With `ema: true` the parameters come
 * from ema.safetensors (when the EMA tracked this module under its own parameter names) and the
 * buffers from model.safetensors.
 */
export function loadModuleWeights(ckpt: string, name: string, module: Module, opts: { ema?: boolean } = {}): CheckpointState {
  if (!opts.ema) return loadCheckpoint(ckpt, { modules: { [name]: module } });
  const state = readCheckpointState(ckpt);
  for (const f of [MODEL_FILE, EMA_FILE]) if (!(f in state.files)) throw new Error(`checkpoint ${ckpt}: has no ${f}`);
  verifyCheckpoint(ckpt, state, [MODEL_FILE, EMA_FILE]);
  const file = path.join(ckpt, MODEL_FILE);
  withTensors(file, (k) => k.startsWith(`${name}.`), (model) => {
    withTensors(path.join(ckpt, EMA_FILE), () => true, (ema) => {
      const sd = new Map([...model].map(([k, t]) => [k.slice(name.length + 1), t] as [string, Tensor]));
      for (const [k, t] of ema) if (sd.has(k)) sd.set(k, t);
      module.loadStateDict(sd, { source: `${file} + ${EMA_FILE} [module ${name}]` });
    });
  });
  return state;
}

/** Config fields that differ between `saved` and `current` (JSON semantics), skipping `ignore` paths and their children. */
export function diffConfig(saved: unknown, current: unknown, ignore: readonly string[] = []): ConfigDifference[] {
  const out: ConfigDifference[] = [];
  const skip = (p: string) => ignore.some((i) => p === i || p.startsWith(i + '.'));
  const walk = (a: unknown, b: unknown, p: string) => {
    if (p && skip(p)) return;
    if (isPlainObject(a) && isPlainObject(b)) {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[k], b[k], p ? `${p}.${k}` : k);
    } else if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      a.forEach((v, i) => walk(v, b[i], p ? `${p}.${i}` : String(i)));
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      out.push({ path: p || '(root)', saved: a, current: b });
    }
  };
  walk(toJson(saved ?? null, 'saved config'), toJson(current ?? null, 'config'), '');
  return out;
}

/** Throw, listing each differing field, when `current` differs from `saved` outside `ignore`. */
export function assertSameConfig(saved: unknown, current: unknown, ignore: readonly string[], where: string): void {
  const d = diffConfig(saved, current, ignore);
  if (!d.length) return;
  const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));
  const lines = d.slice(0, 30).map((x) => `  ${x.path}: saved ${show(x.saved)}, now ${show(x.current)}`);
  throw new Error(`${where}: this run's config differs from the checkpoint's in ${d.length} field(s):\n${lines.join('\n')}\n` +
    `(start a new run directory, or allow these fields to change)`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v != null && typeof v === 'object' && !Array.isArray(v);
}

/** JSON round trip (drops undefined, checks serialisability). */
function toJson(v: unknown, what: string): unknown {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch (e) {
    throw new Error(`checkpoint ${what} is not JSON-serialisable: ${(e as Error).message}`);
  }
  return s === undefined ? null : JSON.parse(s);
}

/** Read the tensors of `file` passing `filter`, hand them to `use`, then dispose them. */
function withTensors(file: string, filter: (k: string) => boolean, use: (sd: Map<string, Tensor>) => void): void {
  const f = SafetensorsFile.open(file);
  const sd = new Map<string, Tensor>();
  try {
    for (const k of f.keys()) if (filter(k)) sd.set(k, f.read(k));
    use(sd);
  } finally {
    f.close();
    for (const t of sd.values()) t.dispose();
  }
}

/** Write `bytes` to the new file `file` (every byte, fsynced); returns its size and sha256. */
function writeSynced(file: string, bytes: Uint8Array): FileEntry {
  writeFileSynced(file, bytes);
  return { bytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
}

function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 24);
    let pos = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** Delete checkpoints beyond the newest `keep` (never `current`) and leftovers of interrupted writes. */
function prune(dir: string, current: string, keep: number): void {
  for (const e of fs.readdirSync(dir)) {
    if (/^ckpt-\d+\.(tmp|old)-/.test(e)) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
  }
  if (keep <= 0) return;
  const all = listCheckpoints(dir);
  for (const c of all.slice(0, Math.max(0, all.length - keep))) if (c.path !== current) fs.rmSync(c.path, { recursive: true, force: true });
}
