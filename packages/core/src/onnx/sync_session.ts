/**
 * A synchronous onnxruntime-node session. The denoiser contract (sampling/denoiser.ts) is a plain
 * function called inside samplers and `tf.tidy`, so an ORT denoiser cannot await. onnxruntime-node's
 * native binding runs synchronously (its `InferenceSession.run` only defers the same call with
 * `setImmediate`), so this wraps the binding directly: same native session, same options.
 *
 * Execution providers: `RAEV2_ORT_PROVIDER` = auto | cpu | cuda | webgpu (default auto: CUDA when
 * its provider library is installed beside the binding — `ONNXRUNTIME_NODE_INSTALL=cuda12 npm i
 * onnxruntime-node` — else CPU). A provider that fails to load falls back to CPU with one warning.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { z } from 'zod';
import type * as Ort from 'onnxruntime-node';
import { onnxRuntime } from './session.js';

const require = createRequire(import.meta.url);

/** What the native binding returns per output (onnxruntime-common wraps it in a Tensor). */
interface RawOutput {
  type: Ort.Tensor.Type;
  dims: readonly number[];
  data: Ort.Tensor.DataType;
}
interface NativeSession {
  loadModel(file: string, options: object): void;
  loadModel(buffer: ArrayBufferLike, offset: number, length: number, options: object): void;
  run(feeds: Record<string, Ort.Tensor>, fetches: Record<string, null>, options: object): Record<string, RawOutput | Ort.Tensor>;
  dispose(): void;
  readonly inputMetadata: { name: string }[];
  readonly outputMetadata: { name: string }[];
}
interface Binding {
  binding: { InferenceSession: new () => NativeSession; listSupportedBackends(): { name: string; bundled: boolean }[] };
  initOrt(): void;
}

let bindingLib: Binding | null = null;
function binding(): Binding {
  if (bindingLib == null) {
    onnxRuntime(); // registers the backend and onnxruntime-common's Tensor first
    bindingLib = require('onnxruntime-node/dist/binding') as Binding;
    bindingLib.initOrt();
  }
  return bindingLib;
}

export const ORT_PROVIDERS = ['auto', 'cpu', 'cuda', 'webgpu'] as const;
export type OrtProvider = (typeof ORT_PROVIDERS)[number];
const ProviderSchema = z.enum(ORT_PROVIDERS);

/** Whether onnxruntime-node's CUDA provider library is installed beside its binding. */
export function cudaProviderInstalled(): boolean {
  const dir = path.dirname(require.resolve('onnxruntime-node/package.json'));
  const bin = path.join(dir, 'bin', 'napi-v6', process.platform, process.arch);
  return fs.existsSync(path.join(bin, 'libonnxruntime_providers_cuda.so')) || fs.existsSync(path.join(bin, 'onnxruntime_providers_cuda.dll'));
}

/** The provider asked for by option or `RAEV2_ORT_PROVIDER` (validated), with auto resolved. */
export function resolveOrtProvider(option?: OrtProvider): Exclude<OrtProvider, 'auto'> {
  const raw = option ?? process.env.RAEV2_ORT_PROVIDER?.trim().toLowerCase() ?? 'auto';
  const parsed = ProviderSchema.safeParse(raw === '' ? 'auto' : raw);
  if (!parsed.success) throw new Error(`RAEV2_ORT_PROVIDER="${raw}" is not one of ${ORT_PROVIDERS.join(', ')}`);
  if (parsed.data !== 'auto') return parsed.data;
  return cudaProviderInstalled() ? 'cuda' : 'cpu';
}

export interface SyncSessionOptions {
  /** Intra-op threads (default: `RAEV2_ORT_THREADS`, else every available core). */
  threads?: number;
  provider?: OrtProvider;
  /** Let idle intra-op threads spin between runs (onnxruntime's default, true); false frees the cores at once. */
  spinning?: boolean;
}

const warned = new Set<string>();

/** A loaded model that runs synchronously; `provider` says where it runs. */
export class SyncOrtSession {
  readonly inputNames: string[];
  readonly outputNames: string[];
  private native: NativeSession | null;

  private constructor(native: NativeSession, readonly provider: string) {
    this.native = native;
    this.inputNames = native.inputMetadata.map((m) => m.name);
    this.outputNames = native.outputMetadata.map((m) => m.name);
  }

  /** Load model bytes or an .onnx file (full graph optimisation, sequential execution). */
  static create(model: Uint8Array | string, opts: SyncSessionOptions = {}): SyncOrtSession {
    const envThreads = process.env.RAEV2_ORT_THREADS;
    const threads = opts.threads ?? (envThreads != null && envThreads !== '' ? Number(envThreads) : os.availableParallelism());
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`onnxruntime threads (RAEV2_ORT_THREADS) must be a positive integer, got ${envThreads ?? threads}`);
    const provider = resolveOrtProvider(opts.provider);
    const spin = opts.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {};
    const base = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', ...spin };
    const load = (providers: object[]) => {
      const { binding: b } = binding();
      const s = new b.InferenceSession();
      const options = { ...base, executionProviders: providers };
      if (typeof model === 'string') s.loadModel(model, options);
      else s.loadModel(model.buffer, model.byteOffset, model.byteLength, options);
      return s;
    };
    if (provider !== 'cpu') {
      try {
        return new SyncOrtSession(load([{ name: provider }, { name: 'cpu' }]), provider);
      } catch (e) {
        if (!warned.has(provider)) process.stderr.write(`[raev2] onnxruntime ${provider} provider unavailable (${(e as Error).message.split('\n')[0]}); using the CPU\n`);
        warned.add(provider);
      }
    }
    return new SyncOrtSession(load([{ name: 'cpu' }]), 'cpu');
  }

  /** Run on host tensors; returns every output (float32 data + dims), by name. */
  run(feeds: Record<string, Ort.Tensor>): Map<string, { data: Float32Array; dims: number[] }> {
    if (this.native == null) throw new Error('onnxruntime session used after release()');
    const fetches: Record<string, null> = {};
    for (const n of this.outputNames) fetches[n] = null;
    const raw = this.native.run(feeds, fetches, {});
    const out = new Map<string, { data: Float32Array; dims: number[] }>();
    for (const n of this.outputNames) {
      const r = raw[n];
      if (r.type !== 'float32') throw new Error(`onnxruntime output ${n}: float32 expected, got ${r.type}`);
      out.set(n, { data: r.data as Float32Array, dims: [...r.dims] });
    }
    return out;
  }

  /** Free the native session. */
  release(): void {
    this.native?.dispose();
    this.native = null;
  }
}

/** An ORT tensor of `type` over host data. */
export function ortTensor(type: 'float32' | 'int32', data: Float32Array | Int32Array, dims: number[]): Ort.Tensor {
  return new (onnxRuntime().Tensor)(type, data, dims);
}
