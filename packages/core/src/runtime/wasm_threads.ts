/**
 * Multi-threaded tfjs wasm backend in Node (`RAEV2_WASM_THREADS` = auto | N, default auto: one
 * thread per available core, at most 8; `RAEV2_WASM_THREADS=1` opts out, e.g. when several
 * processes share the cores, where threads oversubscribe badly).
 *
 * tfjs-backend-wasm 4.22 ships `tfjs-backend-wasm-threaded-simd.wasm` (XNNPACK + pthreadpool,
 * Emscripten pthreads) but never uses it in Node. Four things stand in the way; each is bridged
 * here, only for the duration of `tf.setBackend('wasm')`:
 *  1. The flag `WASM_HAS_MULTITHREAD_SUPPORT` is hard-wired to false when IS_NODE
 *     (tfjs issue 3830) → set it to true (Node has SharedArrayBuffer and wasm atomics).
 *  2. The pthread worker script is handed to Emscripten as a blob: URL
 *     (`URL.createObjectURL(new Blob([wasmWorkerContents]))`), and `worker_threads.Worker`
 *     refuses blob: URLs → `Blob` is replaced by a subclass that remembers its string parts, and
 *     `URL.createObjectURL` writes those parts to a file in the temp dir and returns its path.
 *  3. Each worker then evaluates the factory from `Module.mainScriptUrlOrBlob`, again a Blob
 *     (`"var WasmBackendModuleThreadedSimd = " + factory.toString()`); the worker would turn it
 *     into a blob: URL and `fs.readFileSync` it, which fails. The backend assigns this property on
 *     a fresh `{}` we cannot reach, so a setter on `Object.prototype` catches the assignment and
 *     stores a file path instead. The factory's source also refers to bundle-scope names of the
 *     node build (`require$$0` fs, `require$$1` path, `require$$3` perf_hooks, `require$$4` os,
 *     `commonjsGlobal`), so the file starts with definitions of those.
 *  4. The C++ side caps the pool at `emscripten_num_logical_cores() / 2` (it assumes 2
 *     hyper-threads per core), i.e. 1 thread on a 2-vCPU machine, and reads it from `os.cpus()` in
 *     a static constructor → `os.cpus()` reports at least 2·threads entries while it runs.
 * Workers inherit the process's execArgv; `--input-type` (a `node -e` script) is refused in a worker,
 * so it is dropped from the workers' execArgv while they are created.
 * Emscripten pre-spawns 8 `worker_threads` (PTHREAD_POOL_SIZE); XNNPACK's pool runs on `threads`
 * of them, and those are unref'd afterwards so that they never keep the process alive. Results equal the single-threaded build bit for
 * bit (each output element is still reduced by one thread; tests/core/wasm_threads.test.ts).
 * If anything fails, the backend falls back to the single-threaded SIMD build with a warning.
 * Measured on a 2-vCPU Xeon: 1024² matmul 26 GFLOP/s with 1 thread, 59 GFLOP/s with 2; start-up
 * costs ≈ 0.3–1 s more (8 workers each evaluate the factory). Oversubscribed cores hurt threads most.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { tf } from './tf.js';

const require = createRequire(import.meta.url);

/** XNNPACK's hard cap (the Emscripten pool pre-spawns 8 workers). */
export const MAX_WASM_THREADS = 8;

const threadsSchema = z.union([
  z.literal('auto'),
  z.coerce.number().int().min(1).max(MAX_WASM_THREADS),
]);

let threadsInUse = 1;

/** Threads the wasm backend runs with (1 until a threaded init succeeded). */
export function wasmThreadsInUse(): number {
  return threadsInUse;
}

/** Resolve the thread count: explicit option, else `RAEV2_WASM_THREADS`, else auto; auto = available cores (≤ 8). */
export function resolveWasmThreads(option?: number | 'auto'): number {
  const raw = option ?? process.env.RAEV2_WASM_THREADS?.trim().toLowerCase() ?? 'auto';
  const parsed = threadsSchema.safeParse(raw === '' ? 'auto' : raw);
  if (!parsed.success) {
    throw new Error(`RAEV2_WASM_THREADS / threads="${String(raw)}" must be "auto" or an integer in 1..${MAX_WASM_THREADS}`);
  }
  if (parsed.data !== 'auto') return parsed.data;
  return Math.max(1, Math.min(MAX_WASM_THREADS, os.availableParallelism()));
}

/** Write `text` once to a content-addressed file in the temp dir (atomic; shared across processes). */
function materialise(text: string, ext: string): string {
  const dir = path.join(os.tmpdir(), 'raev2-wasm-threads');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${createHash('sha256').update(text).digest('hex').slice(0, 16)}${ext}`);
  if (!fs.existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  }
  return file;
}

// Bundle-scope names the threaded factory's source refers to (see step 3 above).
const FACTORY_PRELUDE =
  "var require$$0=require('fs'),require$$1=require('path'),require$$3=require('perf_hooks'),require$$4=require('os');" +
  'var commonjsGlobal=globalThis;\n';

/** Install the four bridges; returns a function that removes them. */
function installBridges(threads: number): () => void {
  const texts = new WeakMap<Blob, string>();
  const OrigBlob = globalThis.Blob;
  class RecordingBlob extends OrigBlob {
    constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
      super(parts, options);
      if (parts != null && parts.every((p) => typeof p === 'string')) texts.set(this, parts.join(''));
    }
  }
  const origCreateObjectURL = URL.createObjectURL;
  const osModule = require('os') as { cpus: typeof os.cpus };
  const origCpus = osModule.cpus;
  const workerThreads = require('worker_threads') as typeof import('node:worker_threads');
  const OrigWorker = workerThreads.Worker;
  class ArgvSafeWorker extends OrigWorker {
    constructor(file: string | URL, options: import('node:worker_threads').WorkerOptions = {}) {
      super(file, { ...options, execArgv: (options.execArgv ?? process.execArgv).filter((a) => !a.startsWith('--input-type')) });
    }
  }

  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  globalThis.Blob = RecordingBlob;
  URL.createObjectURL = (obj: Blob) => {
    const text = texts.get(obj);
    return text != null && text.includes('ENVIRONMENT_IS_PTHREAD') ? materialise(text, '.worker.cjs') : origCreateObjectURL(obj);
  };
  Object.defineProperty(Object.prototype, 'mainScriptUrlOrBlob', {
    configurable: true,
    set(this: object, value: unknown) {
      const text = value instanceof OrigBlob ? texts.get(value) : undefined;
      const stored = text != null ? materialise(FACTORY_PRELUDE + text, '.main.js') : value;
      Object.defineProperty(this, 'mainScriptUrlOrBlob', { value: stored, writable: true, enumerable: true, configurable: true });
    },
  });
  workerThreads.Worker = ArgvSafeWorker;
  osModule.cpus = () => {
    const cpus = origCpus();
    while (cpus.length < 2 * threads) cpus.push(cpus[0]);
    return cpus;
  };
  return () => {
    globalThis.Blob = OrigBlob;
    URL.createObjectURL = origCreateObjectURL;
    delete (Object.prototype as { mainScriptUrlOrBlob?: unknown }).mainScriptUrlOrBlob;
    osModule.cpus = origCpus;
    workerThreads.Worker = OrigWorker;
  };
}

/** Emscripten `ref()`s the worker of each running pthread; XNNPACK's pool threads idle forever, so
 * they would keep Node from exiting. */
function unrefPoolThreads(): void {
  const backend = tf.findBackend('wasm') as unknown as { wasm?: { PThread?: { runningWorkers: { unref(): void }[] } } };
  for (const worker of backend.wasm?.PThread?.runningWorkers ?? []) worker.unref();
}

/**
 * `tf.setBackend('wasm')` with `threads` XNNPACK threads (option / env / auto); falls back to the
 * single-threaded SIMD build if the threaded one fails. Returns whether the backend is set.
 */
export async function setWasmBackend(threads?: number | 'auto'): Promise<boolean> {
  const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as {
    setThreadsCount(n: number): void;
    getThreadsCount(): number;
  };
  const n = resolveWasmThreads(threads);
  if (n > 1) {
    wasm.setThreadsCount(n);
    const remove = installBridges(n);
    let ok = false;
    try {
      ok = await tf.setBackend('wasm');
    } catch (e) {
      process.stderr.write(`[raev2] threaded wasm failed (${(e as Error).message})\n`);
    } finally {
      remove();
    }
    if (ok) {
      unrefPoolThreads();
      threadsInUse = wasm.getThreadsCount();
      return true;
    }
    process.stderr.write('[raev2] threaded wasm backend failed to initialise; using the single-threaded build\n');
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  wasm.setThreadsCount(1);
  threadsInUse = 1;
  return tf.setBackend('wasm');
}
