/**
 * Text-tower features for `raev2 features --input-ids`: a SigLIP / SigLIP-2 text model (HF folder
 * or hub id) over stored `input_ids` [B, L] (int32 or int64, with an optional `attention_mask`)
 * → `hidden_states.0…L`, `last_hidden_state`, `pooler_output`. As the HF processor and model do
 * by default, the mask is NOT passed to the tower (SigLIP attends to its pads and pools the last
 * position); `useMask` passes it.
 */
import * as fs from 'node:fs';
import { tf, SafetensorsFile, saveSafetensors, type HostTensor, type Tensor } from '@raev2/core';
import { openModelFolder, resolveModelFolder, siglipTextFromFolder } from '@raev2/encoders';

export interface TextFeatureOptions {
  model: string;
  inputIds: string;
  out: string;
  /** Pass `attention_mask` into the tower (default false, the canonical SigLIP use). */
  useMask?: boolean;
  batch?: number;
}

/** Read an integer tensor as int32 (int64 values must fit). */
function readIds(file: SafetensorsFile, name: string, where: string): Tensor {
  const h = file.readHost(name);
  if (!['I64', 'I32', 'U8', 'I16', 'U16'].includes(h.dtype)) throw new Error(`${where}: '${name}' must be an integer tensor, got ${h.dtype}`);
  if (h.shape.length !== 2) throw new Error(`${where}: '${name}' must be [B, L], got [${h.shape}]`);
  const src = h.data as ArrayLike<number | bigint>;
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = Number(src[i]);
    if (!Number.isSafeInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw new Error(`${where}: '${name}' value ${String(src[i])} does not fit int32`);
    out[i] = v;
  }
  return tf.tensor2d(out, h.shape as [number, number], 'int32');
}

/** Run the tower and write the outputs; returns the number of sequences. */
export async function extractTextFeatures(o: TextFeatureOptions): Promise<number> {
  if (!fs.existsSync(o.inputIds)) throw new Error(`--input-ids: ${o.inputIds} not found`);
  const file = SafetensorsFile.open(o.inputIds);
  let ids: Tensor, mask: Tensor | null = null;
  try {
    if (!file.keys().includes('input_ids')) throw new Error(`--input-ids: ${o.inputIds} has no tensor 'input_ids' (tensors: ${file.keys().join(', ')})`);
    ids = readIds(file, 'input_ids', o.inputIds);
    if (file.keys().includes('attention_mask')) {
      mask = readIds(file, 'attention_mask', o.inputIds);
      if (mask.shape.join() !== ids.shape.join()) throw new Error(`--input-ids: ${o.inputIds}: attention_mask [${mask.shape}] does not match input_ids [${ids.shape}]`);
    }
  } finally {
    file.close();
  }
  if (o.useMask && mask == null) throw new Error(`--attention-mask on: ${o.inputIds} has no 'attention_mask'`);
  const dir = await resolveModelFolder(o.model);
  const model = siglipTextFromFolder(openModelFolder(dir, o.model));
  const outs = new Map<string, Float32Array[]>();
  const shapes = new Map<string, number[]>();
  const push = (k: string, t: Tensor) => {
    if (!outs.has(k)) outs.set(k, []);
    outs.get(k)!.push(t.dataSync() as Float32Array);
    shapes.set(k, t.shape.slice(1));
  };
  const n = ids!.shape[0] as number, batch = o.batch ?? 8;
  try {
    for (let i = 0; i < n; i += batch) {
      const size = Math.min(batch, n - i);
      const b = tf.tidy(() => ids.slice([i, 0], [size, -1]));
      const m = o.useMask && mask ? tf.tidy(() => mask!.slice([i, 0], [size, -1])) : null;
      const out = model.forward(b, m);
      tf.dispose([b, ...(m ? [m] : [])]);
      out.hiddenStates.forEach((h, k) => push(`hidden_states.${k}`, h));
      push('last_hidden_state', out.lastHiddenState);
      push('pooler_output', out.poolerOutput);
      tf.dispose([...out.hiddenStates, out.lastHiddenState, out.poolerOutput]);
    }
  } finally {
    model.dispose();
    tf.dispose([ids!, ...(mask ? [mask] : [])]);
  }
  const tensors = new Map<string, HostTensor>();
  for (const [k, parts] of outs) {
    const data = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let off = 0;
    for (const p of parts) {
      data.set(p, off);
      off += p.length;
    }
    tensors.set(k, { dtype: 'F32', shape: [n, ...shapes.get(k)!], data });
  }
  saveSafetensors(o.out, tensors, { metadata: { model: o.model, input_ids: o.inputIds, attention_mask: o.useMask ? 'passed to the tower' : 'not passed (canonical SigLIP use)' } });
  return n;
}
