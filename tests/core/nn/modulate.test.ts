import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, modulate, gate } from '@raev2/core';
import { useBackend } from '../../helpers/fixtures.js';

test('modulate: x·(1 + scale) + shift with per-sample [B, D] and per-token [B, N, D] conditions; gate', async () => {
  await useBackend('cpu');
  const x = tf.tensor3d([[[1, 2], [3, 4]]]); // [1, 2, 2]
  const shiftS = tf.tensor2d([[10, 20]]), scaleS = tf.tensor2d([[1, -1]]);
  assert.deepEqual(Array.from(modulate(x, shiftS, scaleS).dataSync()), [12, 20, 16, 20]);
  const shiftT = tf.tensor3d([[[1, 1], [2, 2]]]), scaleT = tf.tensor3d([[[0, 1], [1, 0]]]);
  assert.deepEqual(Array.from(modulate(x, shiftT, scaleT).dataSync()), [2, 5, 8, 6]);
  assert.deepEqual(Array.from(modulate(x, null, scaleS).dataSync()), [2, 0, 6, 0]);
  assert.deepEqual(Array.from(gate(x, tf.tensor2d([[0, 2]])).dataSync()), [0, 4, 0, 8]);
});
