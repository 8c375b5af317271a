/**
 * A DINOv2-family ViTEncoder encodes through onnxruntime with the ort engine (no gradient, native
 * input size): every hidden state within 1e-4 of the tfjs forward and of the upstream fixture; with
 * a gradient recorded, at another input size, or with the tfjs engine, the tfjs forward runs (bit for bit).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, disposeOutput, type Tensor, type EncoderOutput } from '@raev2/core';
import { loadEncoder } from '@raev2/encoders';
import { fixtureDir, loadIO, maxAbsDiff, useBackend } from '../helpers/fixtures.js';

function withEngine<T>(engine: 'ort' | 'tfjs', fn: () => T): T {
  const before = process.env.RAEV2_ENGINE;
  process.env.RAEV2_ENGINE = engine;
  try {
    return fn();
  } finally {
    if (before == null) delete process.env.RAEV2_ENGINE;
    else process.env.RAEV2_ENGINE = before;
  }
}

const maxOver = (a: EncoderOutput, b: EncoderOutput) => Math.max(...a.hiddenStates.map((h, i) => maxAbsDiff(h, b.hiddenStates[i])));

for (const family of ['dinov2', 'dinov2_with_registers'] as const) {
  test(`ViTEncoder (${family}) on the ort engine runs onnxruntime where it can, tfjs elsewhere`, async (t) => {
    await useBackend('wasm');
    const enc = (await loadEncoder(fixtureDir(family))).encoder;
    const io = loadIO(family);
    const px = io.get('pixel_values')!;
    const before = tf.memory().numTensors;

    const ref = withEngine('tfjs', () => enc.forward(px));
    const out = withEngine('ort', () => enc.forward(px));
    assert.deepEqual(out.grid, ref.grid);
    assert.equal(out.prefixTokens, ref.prefixTokens);
    out.hiddenStates.forEach((h, i) => {
      const dTf = maxAbsDiff(h, ref.hiddenStates[i]), dFix = maxAbsDiff(h, io.get(`hidden_states.${i}`)!);
      t.diagnostic(`hidden_states.${i}: vs tfjs ${dTf.toExponential(2)}, vs fixture ${dFix.toExponential(2)}`);
      assert.ok(dTf <= 1e-4 && dFix <= 1e-4, `hidden_states.${i}: ${dTf} / ${dFix}`);
    });
    assert.ok(maxOver(out, ref) > 0, 'bit-identical to tfjs: onnxruntime did not run');

    // a gradient recorded: the tfjs forward, so gradients flow
    let viaGrad = 0;
    const g = withEngine('ort', () => tf.grad((x: Tensor) => {
      const o = enc.forward(x);
      viaGrad = maxAbsDiff(o.hiddenStates[2], ref.hiddenStates[2]);
      const s = o.hiddenStates[2].sum();
      disposeOutput(o);
      return s;
    })(px));
    assert.equal(viaGrad, 0, 'under a gradient the tfjs forward must run');
    assert.ok(tf.tidy(() => g.abs().sum().dataSync()[0]) > 0, 'no gradient reached the pixels');
    g.dispose();

    // another input size (positions interpolated): tfjs
    const big = tf.tidy(() => tf.image.resizeBilinear(px.transpose([0, 2, 3, 1]) as tf.Tensor4D, [px.shape[2]! + 14, px.shape[3]! + 14]).transpose([0, 3, 1, 2]));
    const bigRef = withEngine('tfjs', () => enc.forward(big));
    const bigOrt = withEngine('ort', () => enc.forward(big));
    assert.equal(maxOver(bigOrt, bigRef), 0, 'an interpolated size must stay on tfjs');

    [ref, out, bigRef, bigOrt].forEach(disposeOutput);
    big.dispose();
    assert.equal(tf.memory().numTensors, before, 'leaked tensors');
    tf.dispose([...io.values()]);
    enc.dispose();
  });
}
