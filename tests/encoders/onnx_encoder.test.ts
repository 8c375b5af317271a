import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf, Rng, encodeImagesAsync, disposeOutput, combineLayers } from '@raev2/core';
import { loadOnnxEncoder, loadEncoder } from '@raev2/encoders';
import { assertClose, maxAbsDiff, useBackend } from '../helpers/fixtures.js';
import { tinyVitOnnx, tinyVitTf, tinyVitWeights, type TinyVitConfig } from './onnx_tiny_vit.js';

const cfg: TinyVitConfig = { hidden: 32, heads: 2, layers: 3, patch: 8, mlp: 64, eps: 1e-6 };
const SIZE = 32; // 4×4 patches + CLS = 17 tokens
const weights = () => tinyVitWeights(cfg, 1 + (SIZE / cfg.patch) ** 2, 3);

function writeModel(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-onnx-'));
  const w = weights();
  fs.mkdirSync(path.join(dir, 'onnx'));
  fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), tinyVitOnnx(cfg, w));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'vit', patch_size: cfg.patch, image_size: SIZE, layer_norm_eps: cfg.eps }));
  fs.writeFileSync(path.join(dir, 'preprocessor_config.json'), JSON.stringify({ image_mean: [0.5, 0.5, 0.5], image_std: [0.25, 0.25, 0.25] }));
  return dir;
}

test('ONNX encoder: hidden_states.0…L from onnxruntime match the same ViT computed in tfjs', async (t) => {
  await useBackend('cpu');
  const dir = writeModel();
  const w = weights();
  const enc = await loadOnnxEncoder(dir, { threads: '1' });
  assert.equal(enc.numLayers, cfg.layers);
  assert.equal(enc.hiddenSize, cfg.hidden);
  assert.equal(enc.patchSize, cfg.patch);
  assert.deepEqual(enc.imageSize, [SIZE, SIZE]);
  assert.deepEqual(enc.imageMean, [0.5, 0.5, 0.5]);
  assert.equal(enc.prefixTokens, 1);
  assert.throws(() => enc.forward(), /asynchronous/);

  const before = tf.memory().numTensors;
  const px = new Rng(7).randn([2, 3, SIZE, SIZE]);
  const out = await enc.forwardAsync(px);
  const ref = tf.tidy(() => tinyVitTf(cfg, w, px));
  assert.equal(out.hiddenStates.length, cfg.layers + 1);
  assert.deepEqual(out.grid, [4, 4]);
  out.hiddenStates.forEach((h, i) => {
    t.diagnostic(`hidden_states.${i}: max abs diff ${maxAbsDiff(h, ref[i]).toExponential(2)}`);
    assertClose(h, ref[i], 1e-4, `hidden_states.${i}`);
  });
  // A second resolution (6×2 patches): the graph has dynamic H, W; positions only fit 17 tokens, so ORT must fail clearly.
  const wrong = tf.zeros([1, 3, 48, 16]);
  await assert.rejects(enc.forwardAsync(wrong), /./);
  wrong.dispose();
  disposeOutput(out);
  tf.dispose(ref);
  px.dispose();
  assert.equal(tf.memory().numTensors, before, 'no leaked tensors');
  enc.dispose();
});

test('ONNX encoder through a spec: onnx:<folder>[layers=…] → preprocess, latent', async () => {
  await useBackend('cpu');
  const dir = writeModel();
  const { encoder, selection } = await loadEncoder(`onnx:${dir}[layers=last2,threads=1]`);
  assert.deepEqual(selection.layers, [1, 2]);
  const images = tf.randomUniform([2, 40, 40, 3], 0, 1, 'float32', 1);
  const out = await encodeImagesAsync(encoder, images);
  const z = combineLayers(out, selection, (h) => encoder.latentNorm(h));
  assert.deepEqual(z.shape, [2, 16, cfg.hidden]);
  // latentNorm = LayerNorm without affine: each token has mean 0, variance 1 − O(eps).
  const m = z.mean(-1).abs().max().dataSync()[0];
  assert.ok(m < 1e-5, `token means ${m}`);
  tf.dispose([z, images]);
  disposeOutput(out);
  encoder.dispose();
});

test('ONNX encoder: a graph without hidden-state outputs is refused with a clear message', async () => {
  const { hiddenStateOutputs } = await import('@raev2/encoders');
  assert.throws(() => hiddenStateOutputs(['last_hidden_state', 'pooler_output'], 'm.onnx'), /no hidden_states\.N outputs/);
  assert.throws(() => hiddenStateOutputs(['hidden_states.0', 'hidden_states.2'], 'm.onnx'), /without gaps/);
  await assert.rejects(loadOnnxEncoder(path.join(os.tmpdir(), 'does-not-exist.onnx')), /not found/);
});
