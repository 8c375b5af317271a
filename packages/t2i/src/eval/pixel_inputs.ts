/**
 * What attribute scoring in pixels needs (eval/pixel_siblings.ts): the stage-1 decoder as a
 * standardised latents → images function, and every item's real image at the decoder's output size.
 */
import { tf, createRAE, loadDecoder, loadStats, readImages, type Tensor } from '@raev2/core';
import { loadEncoder, withResolution } from '@raev2/encoders';
import type { T2IRun } from '../train/run.js';

export interface PixelInputs {
  /** Standardised latents [B, N, C] → images [B, H, W, 3] in [0, 1] (the caller disposes both). */
  decode: (latents: Tensor) => Tensor;
  /** Real image of every item (flat RGB in [0, 1], the decoder's output size) by key. */
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
    const decode = (z: Tensor) => tf.tidy(() => rae.decode(z).clipByValue(0, 1));
    const probe = tf.tidy(() => decode(tf.zeros([1, rae.grid[0] * rae.grid[1], rae.channels])));
    const [, h, w] = probe.shape as number[];
    probe.dispose();
    const imgs = await readImages(items.map((i) => i.path), [h, w]);
    const d = imgs.dataSync() as Float32Array;
    imgs.dispose();
    const n = h * w * 3;
    return { decode, real: new Map(items.map((it, r) => [it.key, d.slice(r * n, (r + 1) * n)])), dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}
