import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, disposeOutput, encodeImages, latentFromOutput, type Tensor } from '@raev2/core';
import { createEncoder, loadEncoder, inceptionGrid, type CnnStageEncoder } from '@raev2/encoders';
import { assertClose, maxAbsDiff, useBackend } from '../helpers/fixtures.js';

test('mobilenetv2-nsfwjs: offline load, stage 10-12 at 224 px = 3 blocks of 14×14×96, identical to nsfwjs’ own loader', async () => {
  await useBackend('wasm');
  const before = tf.memory().numTensors;
  const { encoder, selection } = await loadEncoder('mobilenetv2-nsfwjs');
  assert.equal(encoder.numLayers, 3);
  assert.equal(encoder.hiddenSize, 96);
  assert.equal(encoder.patchSize, 16);
  assert.deepEqual(encoder.imageSize, [224, 224]);
  assert.deepEqual(selection.layers, [0, 1, 2], 'default: every block of the stage (last3)');
  const bytes = tf.randomUniform([224, 224, 3], 0, 256, 'int32', 3);
  const images = tf.tidy(() => bytes.toFloat().div(255).expandDims(0)); // nsfwjs feeds bytes / 255
  const out = encodeImages(encoder, images);
  assert.deepEqual(out.grid, [14, 14]);
  assert.deepEqual(out.hiddenStates.map((h) => h.shape), [[1, 196, 64], [1, 196, 96], [1, 196, 96], [1, 196, 96]]);
  const mine = out.hiddenStates.map((h) => h.dataSync().slice());
  disposeOutput(out);
  images.dispose();
  encoder.dispose();
  assert.equal(tf.memory().numTensors, before + 1, 'no leaked tensors (only the test image is left)');
  // Reference: nsfwjs loads the full classifier its own way and exposes any layer as an endpoint.
  const nsfwjs = await import('nsfwjs');
  const info = console.info;
  console.info = () => {};
  const ref = await nsfwjs.load('MobileNetV2');
  console.info = info;
  const names = ['block_9_add', 'block_10_project_BN', 'block_11_add', 'block_12_add'];
  names.forEach((n, i) => {
    const r = ref.infer(bytes as tf.Tensor3D, n) as Tensor;
    assertClose(mine[i], r.dataSync(), 1e-5, n);
    r.dispose();
  });
  const probs = (await ref.classify(bytes as tf.Tensor3D)).reduce((s, c) => s + c.probability, 0);
  assert.ok(Math.abs(probs - 1) < 1e-3, 'the nsfwjs classifier head still works (sanity of the shared weights)');
  // NSFWJS.dispose() double-disposes layers shared with its endpoint models; dispose the model itself.
  (ref as unknown as { model: tf.LayersModel }).model.dispose();
  bytes.dispose();
});

test('mobilenetv2-nsfwjs: other stages and resolutions (multiples of the patch size)', async () => {
  await useBackend('wasm');
  const images = tf.randomUniform([2, 48, 80, 3], 0, 1, 'float32', 1);
  const a = (await createEncoder('mobilenetv2-nsfwjs', { stage: '6-9', res: '64' })) as CnnStageEncoder;
  assert.equal(a.numLayers, 4);
  assert.deepEqual(a.imageSize, [64, 64]);
  const px = a.preprocess(images); // resized to 64×64, NCHW
  assert.deepEqual(px.shape, [2, 3, 64, 64]);
  const oa = a.forward(px);
  // Stage input block_5_add is at stride 8: average-pooled onto the 4×4 grid (32 channels).
  assert.deepEqual(oa.hiddenStates.map((h) => h.shape), [[2, 16, 32], [2, 16, 64], [2, 16, 64], [2, 16, 64], [2, 16, 64]]);
  const direct = tf.tidy(() => a.forward(images.transpose([0, 3, 1, 2])).hiddenStates[4]);
  assert.deepEqual(direct.shape, [2, 15, 64], 'forward takes any multiple of 16 (48×80 → 3×5 grid)');
  assert.throws(() => a.forward(tf.zeros([1, 3, 40, 40])), /image side 40 must be a positive multiple of 16/);
  const b = await createEncoder('mobilenetv2-nsfwjs', { stage: '13-15', res: '64' });
  assert.equal(b.patchSize, 32);
  const ob = encodeImages(b, images);
  assert.deepEqual(ob.grid, [2, 2]);
  assert.deepEqual(ob.hiddenStates[3].shape, [2, 4, 160]);
  await assert.rejects(createEncoder('mobilenetv2-nsfwjs', { res: '40' }), /res=40 must be a positive multiple of the stage's patch size 16/);
  tf.dispose([images, px, direct]);
  disposeOutput(oa);
  disposeOutput(ob);
  a.dispose();
  b.dispose();
});

test('mobilenetv2-nsfwjs: wasm forward and input gradients match the cpu backend; latent norm per token', async (t) => {
  const run = async (backend: string) => {
    await useBackend(backend);
    const { encoder, selection } = await loadEncoder('mobilenetv2-nsfwjs[res=32]');
    const images = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 9);
    // A perceptual-style loss: squared latent of the selected blocks → gradient w.r.t. the pixels.
    const loss = (x: Tensor) => {
      const out = encodeImages(encoder, x);
      const z = latentFromOutput(encoder, out, selection);
      return z.mul(out.hiddenStates[3]).mean();
    };
    const { value, grad } = tf.valueAndGrad(loss)(images);
    const z = tf.tidy(() => latentFromOutput(encoder, encodeImages(encoder, images), selection));
    // latentNorm alone (one block): every token has mean 0 and variance 1 over channels.
    const ln = tf.tidy(() => {
      const m = tf.moments(encoder.latentNorm(encodeImages(encoder, images).hiddenStates[3]), -1);
      return [m.mean.abs().max().dataSync()[0], m.variance.sub(1).abs().max().dataSync()[0]];
    });
    const r = { value: value.dataSync()[0], grad: grad.dataSync().slice() as Float32Array, z: z.dataSync().slice() as Float32Array, ln };
    tf.dispose([images, value, grad, z]);
    encoder.dispose();
    return r;
  };
  const w = await run('wasm');
  const c = await run('cpu');
  assert.ok(w.ln[0] < 1e-5 && w.ln[1] < 1e-3, `normalised tokens: max |mean| ${w.ln[0]}, max |var − 1| ${w.ln[1]}`);
  assert.ok(Math.abs(w.value - c.value) < 1e-5 * Math.max(1, Math.abs(c.value)), `loss wasm ${w.value} vs cpu ${c.value}`);
  assert.ok(maxAbsDiff(w.z, c.z) < 1e-4, `latent wasm vs cpu ${maxAbsDiff(w.z, c.z)}`);
  const gmax = c.grad.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(gmax > 0, 'gradient reaches the pixels');
  const gd = maxAbsDiff(w.grad, c.grad);
  t.diagnostic(`loss wasm ${w.value} cpu ${c.value}; latent max diff ${maxAbsDiff(w.z, c.z).toExponential(2)}; grad max diff ${gd.toExponential(2)} (max |g| ${gmax.toExponential(2)})`);
  assert.ok(gd < 1e-4 * gmax + 1e-7, `d loss / d image: wasm vs cpu max diff ${gd} (max |g| ${gmax})`);
});

test('mobilenetv2-nsfwjs: the encoder is frozen (no trainable variables)', async () => {
  await useBackend('wasm');
  const enc = await createEncoder('mobilenetv2-nsfwjs', { res: '32' });
  const vars = Object.values(tf.engine().registeredVariables);
  assert.ok(vars.length > 0);
  assert.equal(vars.filter((v) => v.trainable).length, 0, 'optimisers and tf.variableGrads() will not touch the encoder');
  enc.dispose();
});

test('inceptionv3-nsfwjs: 17×17 stage at 299 px (latent grid 17 ↔ 272 px), any grid via res', async () => {
  await useBackend('wasm');
  assert.equal(inceptionGrid(299, '17'), 17);
  assert.equal(inceptionGrid(299, '8'), 8);
  assert.equal(inceptionGrid(91, '17'), 4);
  assert.equal(inceptionGrid(90, '17'), 3);
  const { encoder, selection } = await loadEncoder('inceptionv3-nsfwjs[res=64,last2]');
  assert.equal(encoder.numLayers, 4);
  assert.equal(encoder.hiddenSize, 768);
  assert.deepEqual(encoder.imageSize, [64, 64]);
  assert.deepEqual(selection.layers, [2, 3]);
  const images = tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 2);
  const px = encoder.preprocess(images);
  assert.deepEqual(px.shape, [1, 3, 91, 91], 'grid 4 needs a 91-px network input');
  const out = encoder.forward(px);
  assert.deepEqual(out.grid, [4, 4]);
  assert.deepEqual(out.hiddenStates.map((h) => h.shape), Array(5).fill([1, 16, 768]));
  const z = latentFromOutput(encoder, out, selection);
  assert.ok(Number.isFinite(z.sum().dataSync()[0]));
  tf.dispose([images, px, z]);
  disposeOutput(out);
  encoder.dispose();
});
