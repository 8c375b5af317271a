/**
 * The RAE pixel decoder run by onnxruntime: latent [B, N, C] → image NHWC [B, H, W, 3], the same
 * contract as GeneralDecoder.decode (normalised pixel space) and RAE.decode ([0, 1] space, with the
 * latent statistics and the encoder's mean/std applied around the graph in tfjs).
 */
import { tf, type Tensor } from '../runtime/tf.js';
import type { GeneralDecoder } from '../rae/decoder.js';
import type { RAE } from '../rae/rae.js';
import { destandardize } from '../rae/stats.js';
import { buildDecoderOnnx } from '../onnx/decoder.js';
import { SyncOrtSession, ortTensor } from '../onnx/sync_session.js';
import { cachedGraph } from './cache.js';
import type { OrtModelOptions } from './denoiser.js';

export interface OrtDecoder {
  /** latent [B, N, C] (N = the decoder grid) → image NHWC in the encoder's normalised pixel space. */
  decode(latent: Tensor): Tensor;
  provider: string;
  release(): void;
}

/** Export `decoder` (or reuse its cached graph) and run it through onnxruntime. */
export function ortDecoder(decoder: GeneralDecoder, opts: OrtModelOptions = {}): OrtDecoder {
  const graph = cachedGraph(opts.cacheDir ?? null, 'decoder', decoder, decoder.config, () => buildDecoderOnnx(decoder));
  const session = SyncOrtSession.create(graph, opts);
  const c = decoder.config.hidden_size, n = decoder.numPatches;
  return {
    provider: session.provider,
    release: () => session.release(),
    decode(latent: Tensor): Tensor {
      const [b, ln, lc] = latent.shape as [number, number, number];
      if (latent.rank !== 3 || ln !== n || lc !== c) throw new Error(`the ONNX decoder needs latents [B, ${n}, ${c}] (its own grid), got [${latent.shape}]`);
      const img = session.run({ latent: ortTensor('float32', latent.dataSync() as Float32Array, [b, n, c]) }).get('image')!;
      return tf.tensor(img.data, img.dims, 'float32');
    },
  };
}

/** RAE.decode through onnxruntime: standardised latent [B, N, C] → images NHWC in [0, 1] space (not clamped). */
export function ortRaeDecode(rae: RAE, opts: OrtModelOptions = {}): { decode(latent: Tensor): Tensor; provider: string; release(): void } {
  const dec = ortDecoder(rae.decoder, opts);
  return {
    provider: dec.provider,
    release: dec.release,
    decode: (latent: Tensor) => tf.tidy(() => {
      if (latent.shape[1] !== rae.decoder.numPatches) return rae.decode(latent); // token resize: tfjs only
      const stats = rae.stats;
      const z = stats ? destandardize(latent, stats) : latent;
      return rae.denormalize(dec.decode(z));
    }),
  };
}
