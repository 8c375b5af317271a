/** A small deterministic ViT-like Encoder for tests: patch projection + residual tanh blocks, 1 CLS token. */
import { tf, Rng, layerNorm, patchify, type Encoder, type EncoderOutput, type Tensor } from '@raev2/core';

export function fakeEncoder(opts: { layers?: number; dim?: number; patch?: number; size?: [number, number]; seed?: number } = {}): Encoder {
  const layers = opts.layers ?? 4, dim = opts.dim ?? 8, patch = opts.patch ?? 4;
  const size = opts.size ?? [16, 16];
  const rng = new Rng(opts.seed ?? 7);
  const proj = tf.keep(rng.randn([3 * patch * patch, dim], 0, 0.5));
  const ws = Array.from({ length: layers }, () => tf.keep(rng.randn([dim, dim], 0, 0.5)));
  const mean: [number, number, number] = [0.5, 0.4, 0.3];
  const std: [number, number, number] = [0.2, 0.25, 0.3];
  return {
    name: 'fake-vit',
    numLayers: layers,
    hiddenSize: dim,
    patchSize: patch,
    imageSize: size,
    imageMean: mean,
    imageStd: std,
    preprocess: (images: Tensor) => tf.tidy(() => images.sub(tf.tensor1d(mean)).div(tf.tensor1d(std))),
    forward(px: Tensor): EncoderOutput {
      const [, h, w] = px.shape;
      const hidden: Tensor[] = [];
      tf.tidy(() => {
        const tokens = tf.matMul(patchify(px, patch).reshape([-1, 3 * patch * patch]), proj).reshape([px.shape[0], -1, dim]);
        let x = tf.concat([tokens.mean(1, true), tokens], 1);
        hidden.push(tf.keep(x));
        const b = px.shape[0], n = (h / patch) * (w / patch) + 1;
        for (const wt of ws) {
          x = x.add(tf.tanh(tf.matMul(x.reshape([b * n, dim]), wt)).reshape([b, n, dim]));
          hidden.push(tf.keep(x));
        }
      });
      return { hiddenStates: hidden, grid: [h / patch, w / patch], prefixTokens: 1 };
    },
    latentNorm: (h: Tensor) => layerNorm(h, 1e-6),
    dispose() {
      proj.dispose();
      for (const w of ws) w.dispose();
    },
  };
}
