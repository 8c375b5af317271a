/**
 * Backend selection: `RAEV2_BACKEND` = auto | tensorflow | wasm | webgpu | cpu.
 * `auto` prefers tfjs-node-gpu / tfjs-node when the user installed them, else wasm.
 */
import { createRequire } from 'node:module';
import { tf } from './tf.js';
import { applyWasmFixes } from './wasm_fixes.js';
import { setWasmBackend, wasmThreadsInUse } from './wasm_threads.js';

export const BACKEND_NAMES = ['auto', 'tensorflow', 'wasm', 'webgpu', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_NAMES)[number];

const require = createRequire(import.meta.url);
let initialised: string | null = null;

export interface RuntimeOptions {
  /** Backend to use; defaults to `RAEV2_BACKEND` or `auto`. */
  backend?: BackendChoice;
  /** Print the chosen backend once (default true unless `RAEV2_QUIET=1`). */
  log?: boolean;
  /** wasm threads (needs a worker-capable build; see runtime/wasm_threads.ts). */
  threads?: number;
}

function parseChoice(value: string | undefined, source = 'RAEV2_BACKEND'): BackendChoice {
  const v = (value ?? 'auto').trim().toLowerCase();
  if ((BACKEND_NAMES as readonly string[]).includes(v)) return v as BackendChoice;
  throw new Error(`${source}="${value}" is not one of ${BACKEND_NAMES.join(', ')}`);
}

/** Why each tfjs-node package could not be used (empty when one was). */
async function tryTensorflow(): Promise<string[]> {
  const reasons: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require(pkg);
      if (await tf.setBackend('tensorflow')) return [];
      reasons.push(`${pkg}: its 'tensorflow' backend failed to initialise`);
    } catch (e) {
      // not installed, or installed without a working libtensorflow
      const err = e as NodeJS.ErrnoException;
      reasons.push(`${pkg}: ${err.code === 'MODULE_NOT_FOUND' ? 'not installed' : err.message.split('\n')[0]}`);
    }
  }
  return reasons;
}

/** Reject if `p` has not settled after `ms` (a GPU query must not hang start-up). */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function useWasm(threads?: number): Promise<void> {
  if (!(await setWasmBackend(threads))) throw new Error('the tfjs wasm backend failed to initialise');
  applyWasmFixes();
}

async function useWebgpu(): Promise<void> {
  type Gpu = { requestAdapter(): Promise<unknown | null> };
  let gpu: Gpu;
  try {
    const webgpu = require('webgpu') as { create(opts: string[]): Gpu; globals: Record<string, unknown> };
    Object.assign(globalThis, webgpu.globals);
    gpu = webgpu.create([]);
    // Node 20 has no global navigator; the tfjs webgpu backend looks for navigator.gpu
    const g = globalThis as { navigator?: object };
    if (g.navigator == null) Object.defineProperty(g, 'navigator', { value: {}, configurable: true, writable: true });
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  } catch (e) {
    throw new Error(`RAEV2_BACKEND=webgpu needs the optional 'webgpu' package (npm i webgpu): ${(e as Error).message}`);
  }
  const adapter = await withTimeout(gpu.requestAdapter(), 30_000, 'RAEV2_BACKEND=webgpu: the WebGPU adapter request');
  if (adapter == null) throw new Error('RAEV2_BACKEND=webgpu: no WebGPU adapter found on this machine (no GPU or no Vulkan driver)');
  try {
    require('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    throw new Error(`RAEV2_BACKEND=webgpu needs the optional '@tensorflow/tfjs-backend-webgpu' package: ${(e as Error).message}`);
  }
  if (!(await tf.setBackend('webgpu'))) throw new Error('RAEV2_BACKEND=webgpu: the tfjs webgpu backend failed to initialise');
}

/** Initialise tensors on the chosen backend (idempotent); returns the backend name. */
export async function initRuntime(opts: RuntimeOptions = {}): Promise<string> {
  const choice = opts.backend != null ? parseChoice(opts.backend, 'backend') : parseChoice(process.env.RAEV2_BACKEND);
  if (initialised != null && (choice === 'auto' || choice === initialised)) return initialised;
  switch (choice) {
    case 'cpu':
      if (!(await tf.setBackend('cpu'))) throw new Error('the tfjs cpu backend failed to initialise');
      break;
    case 'wasm':
      await useWasm(opts.threads);
      break;
    case 'webgpu':
      await useWebgpu();
      break;
    case 'tensorflow': {
      const reasons = await tryTensorflow();
      if (reasons.length) throw new Error(`RAEV2_BACKEND=tensorflow needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu (npm i @tensorflow/tfjs-node): ${reasons.join('; ')}`);
      break;
    }
    case 'auto':
      if ((await tryTensorflow()).length) await useWasm(opts.threads);
      break;
  }
  await tf.ready();
  initialised = tf.getBackend();
  const log = opts.log ?? process.env.RAEV2_QUIET !== '1';
  if (log) process.stderr.write(`[raev2] tensor backend: ${initialised}${initialised === 'wasm' ? ` (${wasmThreadsInUse()} threads)` : ''}\n`);
  return initialised;
}

/** The active backend name, or null before initRuntime(). */
export function currentBackend(): string | null {
  return initialised;
}
