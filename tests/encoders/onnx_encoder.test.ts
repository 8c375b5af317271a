import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf, buildVitOnnx, loadSafetensors, SafetensorsFile, encodeImagesAsync, disposeOutput, combineLayers } from '@raev2/core';
import { loadOnnxEncoder, loadEncoder, hiddenStateOutputs } from '@raev2/encoders';
import { featuresCommand } from '@raev2/cli';
import { fixtureDir, loadIO, maxAbsDiff, useBackend } from '../helpers/fixtures.js';

/** An optimum-style folder: config + preprocessor beside `onnx/model.onnx` (built from the fixture's weights). */
function onnxFolder(family: string): string {
  const src = fixtureDir(family);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `raev2-onnx-${family}-`));
  const weights = loadSafetensors(path.join(src, 'model.safetensors'));
  const heads = (JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8')) as { num_attention_heads: number }).num_attention_heads;
  fs.mkdirSync(path.join(dir, 'onnx'));
  fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), buildVitOnnx(weights, { numHeads: heads, eps: 1e-6 }));
  tf.dispose([...weights.values()]);
  for (const f of ['config.json', 'preprocessor_config.json']) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  return dir;
}

for (const [family, prefix] of [['dinov2', 1], ['dinov2_with_registers', 5]] as const) {
  test(`ONNX encoder (${family}): onnxruntime's hidden_states.0…L match the upstream fixture and the tfjs encoder`, async (t) => {
    await useBackend('wasm');
    const dir = onnxFolder(family);
    const enc = await loadOnnxEncoder(dir, { threads: '1' });
    const tfjs = await loadEncoder(fixtureDir(family));
    assert.equal(enc.numLayers, 2);
    assert.equal(enc.hiddenSize, 32);
    assert.equal(enc.patchSize, 14);
    assert.equal(enc.prefixTokens, prefix, 'CLS + registers from config.json');
    assert.deepEqual(enc.imageSize, tfjs.encoder.imageSize, 'resolution from the processor/config');
    assert.deepEqual(enc.imageMean.map((v) => +v.toFixed(3)), [0.485, 0.456, 0.406]);
    assert.throws(() => enc.forward(), /asynchronous/);

    const before = tf.memory().numTensors;
    const io = loadIO(family);
    const out = await enc.forwardAsync(io.get('pixel_values')!);
    const ref = tfjs.encoder.forward(io.get('pixel_values')!);
    assert.equal(out.prefixTokens, prefix);
    assert.deepEqual(out.grid, ref.grid);
    out.hiddenStates.forEach((h, i) => {
      const dFix = maxAbsDiff(h, io.get(`hidden_states.${i}`)!);
      const dTf = maxAbsDiff(h, ref.hiddenStates[i]);
      t.diagnostic(`hidden_states.${i}: vs fixture ${dFix.toExponential(2)}, vs tfjs ${dTf.toExponential(2)}`);
      assert.ok(dFix <= 1e-4 && dTf <= 1e-4, `hidden_states.${i}: ${dFix} / ${dTf}`);
    });
    disposeOutput(out);
    disposeOutput(ref);
    tf.dispose([...io.values()]);
    assert.equal(tf.memory().numTensors, before, 'no leaked tensors');
    enc.dispose();
    tfjs.encoder.dispose();
  });
}

test('ONNX encoder through a spec and the features command: onnx:<folder>[layers=…]', async () => {
  await useBackend('wasm');
  const dir = onnxFolder('dinov2');
  const { encoder, selection } = await loadEncoder(`onnx:${dir}[layers=last2,threads=1]`);
  assert.deepEqual(selection.layers, [0, 1]);
  const images = tf.randomUniform([2, 70, 60, 3], 0, 1, 'float32', 1);
  const out = await encodeImagesAsync(encoder, images); // resized to 56×56, normalised, NCHW
  const z = combineLayers(out, selection, (h) => encoder.latentNorm(h));
  assert.deepEqual(z.shape, [2, 16, 32]);
  const m = tf.tidy(() => tf.moments(encoder.latentNorm(out.hiddenStates[2]), -1));
  assert.ok(m.mean.abs().max().dataSync()[0] < 1e-5 && m.variance.sub(1).abs().max().dataSync()[0] < 1e-3, 'latent norm without affine');
  tf.dispose([z, images, m.mean, m.variance]);
  disposeOutput(out);
  encoder.dispose();
  // The same model from the command line (async forward inside `raev2 features`).
  const file = path.join(dir, 'features.safetensors');
  await featuresCommand.run(['--model', path.join(dir, 'onnx', 'model.onnx'), '--pixel-values', path.join(fixtureDir('dinov2'), 'io.safetensors'), '--out', file]);
  const f = SafetensorsFile.open(file);
  const ref = SafetensorsFile.open(path.join(fixtureDir('dinov2'), 'io.safetensors'));
  for (const k of ['hidden_states.0', 'hidden_states.2']) assert.ok(maxAbsDiff(f.readHost(k).data, ref.readHost(k).data) <= 1e-4, k);
  f.close();
  ref.close();
});

test('ONNX encoder: bad graphs and paths are refused with clear messages', async () => {
  assert.throws(() => hiddenStateOutputs(['last_hidden_state', 'pooler_output'], 'm.onnx'), /no hidden_states\.N outputs/);
  assert.throws(() => hiddenStateOutputs(['hidden_states.0', 'hidden_states.2'], 'm.onnx'), /without gaps/);
  await assert.rejects(loadOnnxEncoder(path.join(os.tmpdir(), 'does-not-exist.onnx')), /not found/);
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-onnx-empty-'));
  await assert.rejects(loadOnnxEncoder(empty), /no model.onnx or onnx\/model.onnx/);
  const dir = onnxFolder('dinov2');
  fs.rmSync(path.join(dir, 'config.json'));
  await assert.rejects(loadOnnxEncoder(dir), /give the patch size as an option, e\.g\. onnx:.*\[patch=14\]/);
  await assert.rejects(loadOnnxEncoder(dir, { patch: '14', bogus: '1' }), /has no option 'bogus'/);
  const ok = await loadOnnxEncoder(dir, { patch: '14', res: '56', mean: '0.5', std: '0.25_0.5_1' });
  assert.deepEqual([ok.imageMean, ok.imageStd, ok.imageSize], [[0.5, 0.5, 0.5], [0.25, 0.5, 1], [56, 56]]);
  ok.dispose();
});
