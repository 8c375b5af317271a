import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { tf, loadSafetensors, disposeOutput, encodeImages, type Tensor } from '@raev2/core';
import { loadHFEncoder, loadHFModel, naflexPatchRows, SiglipTextModel, type Siglip2ImageTower } from '@raev2/encoders';
import { fixtureDir, loadIO, maxAbsDiff, useBackend } from '../helpers/fixtures.js';

const ATOL = 1e-4;

/** LayerNorm without affine in float64 on the host, per token. */
function layerNorm64(x: Tensor, eps: number): Float64Array {
  const d = x.shape[x.rank - 1];
  const v = x.dataSync();
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i += d) {
    let mean = 0;
    for (let j = 0; j < d; j++) mean += v[i + j] / d;
    let variance = 0;
    for (let j = 0; j < d; j++) variance += (v[i + j] - mean) ** 2 / d;
    for (let j = 0; j < d; j++) out[i + j] = (v[i + j] - mean) / Math.sqrt(variance + eps);
  }
  return out;
}

test('SigLIP as an RAE encoder (loadHFEncoder): shape facts, hidden states of the fixture, latent norm, preprocessing', async () => {
  await useBackend('wasm');
  const io = loadIO('siglip_vision');
  const before = tf.memory().numTensors;
  const enc = await loadHFEncoder(fixtureDir('siglip_vision'), { name: 'siglip-test' });
  assert.equal(enc.name, 'siglip-test');
  assert.deepEqual([enc.numLayers, enc.hiddenSize, enc.patchSize], [2, 32, 8]);
  assert.deepEqual(enc.imageSize, [32, 32]);
  assert.deepEqual(enc.imageMean, [0.5, 0.5, 0.5]);
  assert.deepEqual(enc.imageStd, [0.5, 0.5, 0.5]);
  const out = enc.forward(io.get('pixel_values')!);
  assert.equal(out.prefixTokens, 0);
  assert.deepEqual(out.grid, [4, 4]);
  out.hiddenStates.forEach((h, i) => assert.ok(maxAbsDiff(h, io.get(`hidden_states.${i}`)!) <= ATOL, `hidden_states.${i}`));
  // latentNorm = post_layernorm without its affine (eps 1e-6)
  const ln = enc.latentNorm(out.hiddenStates[2]);
  const dLn = maxAbsDiff(ln, layerNorm64(out.hiddenStates[2], 1e-6));
  assert.ok(dLn <= 1e-5, `latentNorm ${dLn}`);
  ln.dispose();
  disposeOutput(out);
  // preprocess: NHWC [0, 1] → resized (PIL bicubic semantics, float) and normalised NCHW, close to the 8-bit processor output
  const pre = loadSafetensors(path.join(fixtureDir('siglip_vision'), 'preprocess.safetensors'));
  const img = tf.tidy(() => pre.get('image_uint8')!.toFloat().div(255).expandDims(0));
  const px = enc.preprocess(img);
  assert.deepEqual(px.shape, [1, 3, 32, 32]);
  const dPre = maxAbsDiff(px, pre.get('pixel_values')!);
  console.log(`  latentNorm vs float64: ${dLn.toExponential(2)}; float preprocess vs PIL 8-bit: ${dPre.toExponential(2)}`);
  // PIL rounds (and clips bicubic overshoot) to 8 bits after each pass: about one level, 2/255 after normalising
  assert.ok(dPre <= 3 / 255, `preprocess ${dPre}`);
  const viaEncode = encodeImages(enc, img);
  assert.equal(viaEncode.hiddenStates.length, 3);
  disposeOutput(viaEncode);
  tf.dispose([img, px]);
  for (const t of pre.values()) t.dispose();
  enc.dispose();
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
  for (const t of io.values()) t.dispose();
});

test('SigLIP-2 NaFlex as a fixed-resolution encoder: an image equal to the fixture\'s 4×4-grid sample reproduces its hidden states', async () => {
  await useBackend('wasm');
  const io = loadIO('siglip2_vision');
  const before = tf.memory().numTensors;
  const enc = await loadHFEncoder(fixtureDir('siglip2_vision'));
  // default side: ⌊√max_num_patches⌋ = 4 patches of 4 px
  assert.deepEqual(enc.imageSize, [16, 16]);
  assert.deepEqual([enc.numLayers, enc.hiddenSize, enc.patchSize], [2, 32, 4]);
  // sample 0 has spatial shape [4, 4] (all 16 rows real): rebuild its NCHW image from the patch rows
  const rows = tf.tidy(() => io.get('pixel_values')!.slice([0, 0, 0], [1, 16, 48]));
  const image = tf.tidy(() => rows.reshape([1, 4, 4, 4, 4, 3]).transpose([0, 1, 3, 2, 4, 5]).reshape([1, 16, 16, 3]).transpose([0, 3, 1, 2]));
  const back = naflexPatchRows(image, 4);
  assert.equal(maxAbsDiff(back, rows), 0, 'patch rows round-trip (patch row, patch col, channel)');
  const out = enc.forward(image);
  assert.deepEqual(out.grid, [4, 4]);
  const diffs = out.hiddenStates.map((h, i) => {
    const ref = tf.tidy(() => io.get(`hidden_states.${i}`)!.slice([0, 0, 0], [1, -1, -1]));
    const d = maxAbsDiff(h, ref);
    ref.dispose();
    return d;
  });
  console.log(`  sample-0 hidden states via the image tower: ${diffs.map((d) => d.toExponential(2)).join(', ')}`);
  for (const d of diffs) assert.ok(d <= ATOL);
  disposeOutput(out);
  // HF-named NaFlex inputs (mixed spatial shapes, padded rows) through the tower's forwardInputs
  const tower = enc.model as Siglip2ImageTower;
  const named = tower.forwardInputs({ pixel_values: io.get('pixel_values')!, spatial_shapes: io.get('spatial_shapes')!, pixel_attention_mask: io.get('pixel_attention_mask')! });
  named.hiddenStates.forEach((h, i) => assert.ok(maxAbsDiff(h, io.get(`hidden_states.${i}`)!) <= ATOL, `forwardInputs hidden_states.${i}`));
  assert.deepEqual(named.grid, [4, 4]);
  disposeOutput(named);
  assert.throws(() => tower.forwardInputs({ pixel_values: io.get('pixel_values')! }), /need "spatial_shapes"/);
  tf.dispose([rows, image, back]);
  enc.dispose();
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
  for (const t of io.values()) t.dispose();
});

test('loadHFModel: the text towers of SigLIP folders are reachable through the family table', async () => {
  await useBackend('cpu');
  const { model } = await loadHFModel(fixtureDir('siglip2_text'));
  assert.ok(model instanceof SiglipTextModel);
  model.dispose();
  await assert.rejects(loadHFEncoder(fixtureDir('siglip_text')), /not an image encoder/);
  await assert.rejects(loadHFModel(fixtureDir('siglip_vision'), { tower: 'text' }), /not a SigLIP text model/);
});
