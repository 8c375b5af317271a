/**
 * What attribute scoring in pixels needs (eval/pixel_siblings.ts): the stage-1 decoder as a
 * standardised latents → images function, and every item's real image at the decoder's output size,
 * both averaged over 8×8-pixel boxes. The comparison is then between the colours of areas (a face,
 * a heart), not edges the decoder blurs: on the shipped t2i decoder, the decoder on the true latent
 * finds its own skin tone among the five in 51 % of seen people at full resolution and 71 % in boxes
 * (colour 100 % either way).
 */
import { tf, createRAE, loadDecoder, loadStats, readImages, type Tensor } from '@raev2/core';

type Tensor4D = tf.Tensor4D;
import { loadEncoder, withResolution } from '@raev2/encoders';
import type { T2IRun } from '../train/run.js';

/** Side of the averaging boxes. */
export const PIXEL_BOX = 8;

export interface PixelInputs {
  /** Standardised latents [B, N, C] → box-averaged images [B, H/8, W/8, 3] in [0, 1] (the caller disposes both). */
  decode: (latents: Tensor) => Tensor;
  /** Real image of every item (flat RGB in [0, 1], the decoder's output size, box-averaged) by key. */
  real: Map<string, Float32Array>;
  dispose: () => void;
}

/** Load the decoder of a run's latent space (`decoderDir`: config.json + model.safetensors) and the items' real images. */
export async function openPixelInputs(run: Pick<T2IRun, 'encoder' | 'imageSize' | 'stats'>, decoderDir: string, items: readonly { key: string; path: string }[]): Promise<PixelInputs> {
  // the RAE only decodes; it is built around the run's encoder, which is disposed with it
  const { encoder, selection } = await loadEncoder(withResolution(run.encoder, run.imageSize));
  let rae;
  try {
    rae = createRAE({ encoder, selection, decoder: loadDecoder(decoderDir), stats: loadStats(run.stats) });
  } catch (e) {
    encoder.dispose();
    throw e;
  }
  const dispose = () => {
    rae.dispose();
    encoder.dispose();
  };
  try {
    const boxes = (x: Tensor4D) => tf.avgPool(x, PIXEL_BOX, PIXEL_BOX, 'valid');
    const decode = (z: Tensor) => tf.tidy(() => boxes(rae.decode(z).clipByValue(0, 1) as Tensor4D));
    const [h, w] = rae.imageSize; // the decoder's output size
    const imgs = await readImages(items.map((i) => i.path), [h, w]);
    const pooled = tf.tidy(() => boxes(imgs));
    imgs.dispose();
    const d = pooled.dataSync() as Float32Array;
    pooled.dispose();
    const n = d.length / items.length;
    return { decode, real: new Map(items.map((it, r) => [it.key, d.slice(r * n, (r + 1) * n)])), dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}
