/**
 * A vision encoder whose forward runs an ONNX graph through onnxruntime, synchronously, behind the
 * same Encoder interface (so the RAE and feature spaces use it unchanged): the graph takes the
 * preprocessed pixels (the base encoder's preprocess and latent norm are kept) and outputs
 * `hidden_states.0 … hidden_states.L`, each [B, T, D] (e.g. onnx/vit.ts's buildVitOnnx of the same
 * weights). Grid = input size / patch; prefix tokens = T − grid cells.
 */
import { tf, type Tensor } from '../runtime/tf.js';
import type { Encoder, EncoderOutput } from '../encoder.js';
import { SyncOrtSession, ortTensor, type SyncSessionOptions } from '../onnx/sync_session.js';

const HIDDEN = /^hidden_states[._](\d+)$/;

export interface OrtEncoder extends Encoder {
  /** Where the graph runs ('cpu', 'cuda', …). */
  readonly provider: string;
}

/** Wrap `base` so that forward runs `graph` (bytes or an .onnx file); dispose releases the session and `base`. */
export function ortEncoder(base: Encoder, graph: Uint8Array | string, opts: SyncSessionOptions = {}): OrtEncoder {
  const session = SyncOrtSession.create(graph, opts);
  const hidden = session.outputNames
    .map((n) => [n, HIDDEN.exec(n)] as const)
    .filter(([, m]) => m != null)
    .map(([n, m]) => [n, Number(m![1])] as const)
    .sort((a, b) => a[1] - b[1]);
  if (hidden.length !== base.numLayers + 1 || hidden.some(([, i], k) => i !== k)) {
    throw new Error(`ortEncoder(${base.name}): the graph must output hidden_states.0…${base.numLayers}, it has ${session.outputNames.join(', ')}`);
  }
  const input = session.inputNames[0];
  return {
    name: base.name,
    numLayers: base.numLayers,
    hiddenSize: base.hiddenSize,
    patchSize: base.patchSize,
    imageSize: base.imageSize,
    imageMean: base.imageMean,
    imageStd: base.imageStd,
    provider: session.provider,
    preprocess: (images: Tensor) => base.preprocess(images),
    latentNorm: (h: Tensor) => base.latentNorm(h),
    forward(pixelValues: Tensor): EncoderOutput {
      const [, , h, w] = pixelValues.shape as [number, number, number, number];
      const data = (pixelValues.dtype === 'float32' ? pixelValues : tf.tidy(() => pixelValues.toFloat())).dataSync() as Float32Array;
      const out = session.run({ [input]: ortTensor('float32', data, pixelValues.shape) });
      const hiddenStates = hidden.map(([n]) => { const o = out.get(n)!; return tf.tensor(o.data, o.dims, 'float32'); });
      const grid: [number, number] = [Math.floor(h / base.patchSize), Math.floor(w / base.patchSize)];
      const tokens = hiddenStates[0].shape[1] as number;
      return { hiddenStates, grid, prefixTokens: tokens - grid[0] * grid[1] };
    },
    dispose(): void {
      session.release();
      base.dispose();
    },
  };
}
