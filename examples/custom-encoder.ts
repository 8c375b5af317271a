/**
 * Plug your own encoder into the registry and use it through the multi-layer RAE latent.
 *
 * The encoder here is a toy "random-projection ViT": 8-px patches projected by a fixed seeded
 * matrix, then L residual blocks `h ← h + gelu(LN(h)·W_l)/√L` with fixed random W_l. It is not a
 * useful representation, but it shows every piece a real encoder provides (preprocess, hidden
 * states of all blocks, grid, latent norm, mean/std) and how a spec string selects layers.
 *
 *   node --conditions=@raev2/source --import tsx examples/custom-encoder.ts
 */
import { tf, initRuntime, Rng, gelu, layerNorm, patchify, encodeImages, disposeOutput, latentFromOutput, type Encoder, type EncoderOutput, type Tensor } from '@raev2/core';
import { registerEncoder, listEncoders, loadEncoder, checkOptions } from '@raev2/encoders';

/** A random-projection patch encoder: [B,3,H,W] → L+1 hidden states [B, h·w, D]. */
function randomProjectionEncoder(name: string, opts: { width: number; depth: number; patch: number; size: number; seed: number }): Encoder {
  const rng = new Rng(opts.seed);
  const { width: D, depth: L, patch: p } = opts;
  const embed = rng.randn([3 * p * p, D], 0, 1 / Math.sqrt(3 * p * p));
  const blocks = Array.from({ length: L }, () => rng.randn([D, D], 0, 1 / Math.sqrt(D)));
  return {
    name,
    numLayers: L,
    hiddenSize: D,
    patchSize: p,
    imageSize: [opts.size, opts.size],
    imageMean: [0.5, 0.5, 0.5],
    imageStd: [0.5, 0.5, 0.5],
    preprocess: (images: Tensor) =>
      tf.tidy(() => {
        const x = images.shape[1] === opts.size && images.shape[2] === opts.size ? images : tf.image.resizeBilinear(images as tf.Tensor4D, [opts.size, opts.size], false, true);
        return x.sub(0.5).div(0.5).transpose([0, 3, 1, 2]); // NCHW, like HF pixel_values
      }),
    forward(px: Tensor): EncoderOutput {
      const [, , h, w] = px.shape as number[];
      const hiddenStates = tf.tidy(() => {
        let x = patchify(px, p, 'NCHW').matMul(embed); // [B, N, 3p²] → [B, N, D]
        const states = [x];
        for (const W of blocks) {
          x = x.add(gelu(layerNorm(x, 1e-6).matMul(W)).div(Math.sqrt(L)));
          states.push(x);
        }
        return states;
      });
      return { hiddenStates, grid: [h / p, w / p], prefixTokens: 0 };
    },
    latentNorm: (h: Tensor) => layerNorm(h, 1e-6),
    dispose: () => tf.dispose([embed, ...blocks]),
  };
}

await initRuntime();

// Register under a name; the factory receives the parsed [options] (here: width, depth, seed, res).
registerEncoder(
  'randproj-p8',
  async (name, options) => {
    checkOptions(name, options, ['width', 'depth', 'seed']);
    const num = (k: string, d: number) => (options[k] === undefined ? d : Number(options[k]));
    return randomProjectionEncoder(name, { width: num('width', 64), depth: num('depth', 6), patch: 8, size: num('res', 64), seed: num('seed', 0) });
  },
  'toy random-projection patch encoder (example)',
);
console.log('registered:', listEncoders().map((e) => e.name).filter((n) => !n.includes('*')).length, 'names, including randproj-p8');

// Encode a batch of images and build latents for a few layer selections.
const images = tf.randomUniform([4, 64, 64, 3], 0, 1, 'float32', 1);
for (const spec of ['randproj-p8', 'randproj-p8[last3]', 'randproj-p8[layers=1.3.5,global]', 'randproj-p8[all,combine=sum,width=32,depth=4]']) {
  const t0 = performance.now();
  const { encoder, selection } = await loadEncoder(spec);
  const out = encodeImages(encoder, images);
  const z = latentFromOutput(encoder, out, selection);
  const std = tf.tidy(() => tf.moments(z).variance.sqrt().dataSync()[0]);
  console.log(`${spec.padEnd(46)} layers=[${selection.layers}] ${selection.combine}${selection.global ? '+global' : ''}  latent [${z.shape}]  std ${std.toFixed(3)}  (${(performance.now() - t0).toFixed(0)} ms)`);
  z.dispose();
  disposeOutput(out);
  encoder.dispose();
}
images.dispose();
