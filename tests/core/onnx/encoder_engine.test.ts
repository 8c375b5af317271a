/**
 * ortEncoder: a tfjs ViT encoder (DINOv2 ± registers, the reference fixtures) with its forward run by
 * onnxruntime on the graph core's builder exports from the same weights — synchronous, same
 * Encoder contract: every hidden state within 1e-4 of the tfjs encoder and of the upstream fixture,
 * same grid and prefix tokens, the base's preprocess and latent norm, no leaks; a graph without the
 * hidden states is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf, ortEncoder, buildVitOnnx, loadSafetensors, disposeOutput, encodeImages, type Tensor } from '@raev2/core';
import { loadEncoder } from '@raev2/encoders';
import { fixtureDir, loadIO, maxAbsDiff, useBackend } from '../../helpers/fixtures.js';
import { buildMatMulModel } from '../../../bench/onnx_matmul.js';

for (const [family, prefix] of [['dinov2', 1], ['dinov2_with_registers', 5]] as const) {
  test(`ortEncoder (${family}) equals the tfjs encoder and the fixture`, async (t) => {
    await useBackend('wasm');
    const dir = fixtureDir(family);
    const heads = (JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { num_attention_heads: number }).num_attention_heads;
    const weights = loadSafetensors(path.join(dir, 'model.safetensors'));
    const graph = buildVitOnnx(weights, { numHeads: heads, eps: 1e-6 });
    tf.dispose([...weights.values()]);
    const tfjs = (await loadEncoder(dir)).encoder;
    const base = (await loadEncoder(dir)).encoder;
    const enc = ortEncoder(base, graph, { threads: 1 });
    assert.equal(enc.provider, 'cpu');
    assert.equal(enc.numLayers, tfjs.numLayers);
    const io = loadIO(family);
    const px = io.get('pixel_values')!;
    const before = tf.memory().numTensors;
    const out = enc.forward(px);
    const ref = tfjs.forward(px);
    assert.equal(out.prefixTokens, prefix);
    assert.deepEqual(out.grid, ref.grid);
    assert.equal(out.hiddenStates.length, ref.hiddenStates.length);
    out.hiddenStates.forEach((h, i) => {
      const dTf = maxAbsDiff(h, ref.hiddenStates[i]), dFix = maxAbsDiff(h, io.get(`hidden_states.${i}`)!);
      t.diagnostic(`hidden_states.${i}: vs tfjs ${dTf.toExponential(2)}, vs fixture ${dFix.toExponential(2)}`);
      assert.ok(dTf <= 1e-4 && dFix <= 1e-4, `hidden_states.${i}: ${dTf} / ${dFix}`);
    });
    disposeOutput(out);
    disposeOutput(ref);
    assert.equal(tf.memory().numTensors, before, 'leaked tensors');
    // preprocess + latent norm are the base encoder's
    const img = tf.randomUniform([1, 40, 40, 3], 0, 1, 'float32', 3);
    const [a, b] = [encodeImages(enc, img), encodeImages(tfjs, img)];
    const na = enc.latentNorm(a.hiddenStates[2]), nb = tfjs.latentNorm(b.hiddenStates[2]);
    assert.ok(maxAbsDiff(na, nb) <= 1e-4);
    tf.dispose([img, na, nb] as Tensor[]);
    disposeOutput(a);
    disposeOutput(b);
    tf.dispose([...io.values()]);
    enc.dispose();
    tfjs.dispose();
  });
}

test('ortEncoder refuses a graph without hidden_states.0…L', async () => {
  await useBackend('wasm');
  const base = (await loadEncoder(fixtureDir('dinov2'))).encoder;
  assert.throws(() => ortEncoder(base, buildMatMulModel(2, 2, 2)), /must output hidden_states\.0…2/);
  base.dispose();
});
