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

function parseChoice(value: string | undefined): BackendChoice {
  const v = (value ?? 'auto').trim().toLowerCase();
  if ((BACKEND_NAMES as readonly string[]).includes(v)) return v as BackendChoice;
  throw new Error(`RAEV2_BACKEND="${value}" is not one of ${BACKEND_NAMES.join(', ')}`);
}

async function tryTensorflow(): Promise<boolean> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require(pkg);
      if (await tf.setBackend('tensorflow')) return true;
    } catch {
      // not installed or libtensorflow missing: fall through
    }
  }
  return false;
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
    Object.defineProperty(globalThis.navigator ?? (globalThis as { navigator?: object }), 'gpu', { value: gpu, configurable: true });
  } catch (e) {
    throw new Error(`RAEV2_BACKEND=webgpu needs the optional 'webgpu' package (npm i webgpu): ${(e as Error).message}`);
  }
  const adapter = await gpu.requestAdapter();
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
  const choice = opts.backend ?? parseChoice(process.env.RAEV2_BACKEND);
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
    case 'tensorflow':
      if (!(await tryTensorflow())) throw new Error('RAEV2_BACKEND=tensorflow needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu installed');
      break;
    case 'auto':
      if (!(await tryTensorflow())) await useWasm(opts.threads);
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
