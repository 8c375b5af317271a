/**
 * Running ONNX models in-process with onnxruntime-node (CPU, inference only), and moving data
 * between tfjs tensors and ORT tensors. The native addon is loaded on first use.
 */
import { createRequire } from 'node:module';
import type * as Ort from 'onnxruntime-node';
import { tf, type Tensor } from '../runtime/tf.js';

const require = createRequire(import.meta.url);
let ortLib: typeof Ort | null = null;

/** The onnxruntime-node module (loaded lazily). */
export function onnxRuntime(): typeof Ort {
  ortLib ??= require('onnxruntime-node') as typeof Ort;
  return ortLib;
}

export interface OnnxSessionOptions {
  /** Intra-op threads (default 2, or `RAEV2_ORT_THREADS`). */
  threads?: number;
}

/** An InferenceSession on model bytes or a file path (intra-op threads default 2, full graph optimisation). */
export async function createOnnxSession(model: Uint8Array | string, opts: OnnxSessionOptions = {}): Promise<Ort.InferenceSession> {
  const threads = opts.threads ?? Number(process.env.RAEV2_ORT_THREADS ?? 2);
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`ONNX session threads must be a positive integer, got ${threads}`);
  const options: Ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  const { InferenceSession } = onnxRuntime();
  return typeof model === 'string' ? InferenceSession.create(model, options) : InferenceSession.create(model, options);
}

/** A float32 ORT tensor over host data [dims]. */
export function ortFloat(data: Float32Array, dims: number[]): Ort.Tensor {
  return new (onnxRuntime().Tensor)('float32', data, dims);
}

/** tfjs float32 tensor → ORT tensor (copies through the host). */
export function toOrtTensor(t: Tensor): Ort.Tensor {
  if (t.dtype !== 'float32') throw new Error(`toOrtTensor: float32 expected, got ${t.dtype}`);
  return ortFloat(t.dataSync() as Float32Array, t.shape);
}

/** ORT float32 tensor → tfjs tensor. */
export function fromOrtTensor(t: Ort.Tensor): Tensor {
  if (t.type !== 'float32') throw new Error(`fromOrtTensor: float32 expected, got ${t.type}`);
  return tf.tensor(t.data as Float32Array, t.dims as number[], 'float32');
}

/** Run a session on float32 feeds; returns every output as a tfjs tensor, by output name. */
export async function runOnnx(session: Ort.InferenceSession, feeds: Record<string, Tensor>): Promise<Map<string, Tensor>> {
  const ortFeeds: Record<string, Ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = toOrtTensor(v);
  const results = await session.run(ortFeeds);
  const out = new Map<string, Tensor>();
  for (const name of session.outputNames) {
    out.set(name, fromOrtTensor(results[name]));
    results[name].dispose();
  }
  return out;
}
