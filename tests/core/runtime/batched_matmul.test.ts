import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, Rng } from '@raev2/core';
import { maxAbsDiff, useBackend } from '../../helpers/fixtures.js';

// wasm's batched BatchMatMul is re-implemented as per-matrix XNNPACK calls on views: check it against cpu,
// including batch broadcasting (flat batch 1 on either side) and the general broadcast that falls back.
const CASES: [number[], number[], boolean, boolean][] = [
  [[6, 9, 5], [6, 5, 7], false, false],
  [[2, 3, 9, 5], [2, 3, 5, 7], false, false],
  [[2, 3, 5, 9], [2, 3, 7, 5], true, true],
  [[1, 9, 5], [4, 5, 7], false, false],
  [[4, 5, 9], [1, 5, 7], true, false],
  [[2, 1, 9, 5], [1, 3, 5, 7], false, false],
  [[3, 9, 5], [5, 7], false, false],
];

test('wasm batched matMul equals cpu (values), with broadcasting and transposes', async () => {
  const rng = new Rng(7);
  for (const [sa, sb, ta, tb] of CASES) {
    const da = rng.normalArray(sa.reduce((p, d) => p * d, 1)), db = rng.normalArray(sb.reduce((p, d) => p * d, 1));
    await useBackend('cpu');
    const ref = tf.tidy(() => tf.matMul(tf.tensor(da, sa), tf.tensor(db, sb), ta, tb));
    const refData = ref.dataSync().slice(), refShape = ref.shape;
    ref.dispose();
    await useBackend('wasm');
    const before = tf.memory().numTensors;
    const y = tf.tidy(() => tf.matMul(tf.tensor(da, sa), tf.tensor(db, sb), ta, tb));
    assert.deepEqual(y.shape, refShape, `shape for ${sa}×${sb}`);
    assert.ok(maxAbsDiff(y.dataSync(), refData) < 1e-5, `${sa}×${sb} (tA=${ta}, tB=${tb})`);
    y.dispose();
    assert.equal(tf.memory().numTensors, before, 'no leaked tensors');
  }
});

test('wasm batched matMul gradients equal cpu', async () => {
  const rng = new Rng(8);
  const da = rng.normalArray(4 * 6 * 5), db = rng.normalArray(4 * 7 * 5);
  const run = () => tf.tidy(() => {
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, false, true).square().sum();
    return tf.grads(f)([tf.tensor(da, [4, 6, 5]), tf.tensor(db, [4, 7, 5])]).map((g) => g.dataSync().slice());
  });
  await useBackend('cpu');
  const ref = run();
  await useBackend('wasm');
  const got = run();
  for (let i = 0; i < 2; i++) assert.ok(maxAbsDiff(got[i], ref[i]) < 1e-4, `grad ${i}`);
});
