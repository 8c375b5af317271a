/**
 * A DiT^DH run by onnxruntime as a Denoiser (sampling/denoiser.ts): (x_t [B, N, C], t [B], cond) →
 * {full, base?}, synchronous, so samplers and every guidance wrapper (CFG, AutoGuidance, free
 * guidance; docs/method.md) use it exactly like the tfjs model. The graph holds the model's
 * current weights (export the EMA copy for sampling).
 */
import { tf, type Tensor } from '../runtime/tf.js';
import type { DiTModel } from '../dit/model.js';
import type { Condition } from '../dit/condition.js';
import type { Denoiser, DenoiserOutput } from '../sampling/denoiser.js';
import { buildDiTOnnx, ditOnnxSignature } from '../onnx/dit.js';
import { SyncOrtSession, ortTensor, type SyncSessionOptions } from '../onnx/sync_session.js';
import { cachedGraph } from './cache.js';

export interface OrtModelOptions extends SyncSessionOptions {
  /** Cache the exported graph in `<cacheDir>/onnx/` (beside the checkpoint); null/absent: export in memory. */
  cacheDir?: string | null;
}

/** A denoiser plus the session behind it (release it when done). */
export interface OrtDenoiser {
  denoiser: Denoiser;
  /** Where the graph runs ('cpu', 'cuda', …). */
  provider: string;
  release(): void;
}

function floatData(t: Tensor): Float32Array {
  return (t.dtype === 'float32' ? t.dataSync() : tf.tidy(() => t.toFloat()).dataSync()) as Float32Array;
}

function int32Data(t: Tensor): Int32Array {
  const d = t.dataSync();
  return d instanceof Int32Array ? d : Int32Array.from(d as ArrayLike<number>);
}

/** Export `model` (or reuse its cached graph) and wrap the onnxruntime session as a Denoiser. */
export function ortDenoiser(model: DiTModel, opts: OrtModelOptions = {}): OrtDenoiser {
  const sig = ditOnnxSignature(model);
  const graph = cachedGraph(opts.cacheDir ?? null, `dit-${model.config.arch}`, model, model.config, () => buildDiTOnnx(model));
  const session = SyncOrtSession.create(graph, opts);
  const [gh, gw] = model.grid;
  const n = gh * gw, c = model.inChannels;
  const denoiser: Denoiser = (x: Tensor, t: Tensor, cond: Condition): DenoiserOutput => {
    const b = x.shape[0] as number;
    if (x.rank !== 3 || x.shape[1] !== n || x.shape[2] !== c) throw new Error(`DiT input must be tokens [B, ${n}, ${c}], got [${x.shape}]`);
    const feeds: Record<string, ReturnType<typeof ortTensor>> = {
      x: ortTensor('float32', floatData(x), [b, n, c]),
      t: ortTensor('float32', floatData(t), [b]),
    };
    if (sig.condition === 'labels') {
      if (cond.labels == null) throw new Error('this model is label-conditioned: pass cond.labels [B]');
      feeds.labels = ortTensor('int32', int32Data(cond.labels), [b]);
    } else {
      if (cond.tokens == null) throw new Error('this model is token-conditioned: pass cond.tokens [B, L, D_c] (and cond.mask [B, L])');
      const [, l, dc] = cond.tokens.shape as [number, number, number];
      feeds.tokens = ortTensor('float32', floatData(cond.tokens), [b, l, dc]);
      feeds.mask = ortTensor('float32', cond.mask ? floatData(cond.mask) : new Float32Array(b * l).fill(1), [b, l]);
    }
    const out = session.run(feeds);
    const full = out.get('full')!;
    const res: DenoiserOutput = { full: tf.tensor(full.data, full.dims, 'float32') };
    const base = out.get('base');
    if (base) res.base = tf.tensor(base.data, base.dims, 'float32');
    return res;
  };
  return { denoiser, provider: session.provider, release: () => session.release() };
}
