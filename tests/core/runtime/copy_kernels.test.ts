/**
 * wasm's Concat / Slice / SplitV short-run paths (runtime/wasm_copy_kernels.ts) move the same values
 * as the cpu backend: exact equality on float32, int32 and bool, every rank used here, innermost and
 * middle axes, the RoPE pair rotation and its gradient; nothing leaks.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, Rng, initRuntime, rotateHalf } from '@raev2/core';
import { useBackend } from '../../helpers/fixtures.js';

before(async () => {
  await initRuntime({ backend: 'wasm', log: false });
});

/** fn's outputs on wasm and on cpu (same host inputs), as flat arrays. */
async function both(fn: () => tf.Tensor[]): Promise<[number[][], number[][]]> {
  const run = async (b: string) => {
    await useBackend(b);
    const before = tf.memory().numTensors;
    const outs = tf.tidy(fn);
    const vals = outs.map((t) => Array.from(t.dataSync()));
    const shapes = outs.map((t) => t.shape.join('x'));
    tf.dispose(outs);
    assert.equal(tf.memory().numTensors, before, `${b}: leaked tensors`);
    return vals.map((v, i) => [...v, shapes[i] as unknown as number]);
  };
  const w = await run('wasm');
  const c = await run('cpu');
  await useBackend('wasm');
  return [w, c];
}

const rng = new Rng(4);
const A = rng.normalArray(2 * 3 * 5 * 4), B = rng.normalArray(2 * 3 * 5 * 1), C = rng.normalArray(2 * 3 * 7 * 2 * 3);

test('Concat along short innermost and middle axes equals cpu exactly', async () => {
  const [w, c] = await both(() => {
    const a = tf.tensor4d(A, [2, 3, 5, 4]), b = tf.tensor4d(B, [2, 3, 5, 1]);
    const ai = a.mul(100).toInt(), bi = b.mul(100).toInt();
    return [
      tf.concat([a, b, a], -1), // runs 4, 1, 4
      tf.concat([b, b], 3),
      tf.concat([a, a.slice([0, 0, 0, 0], [2, 1, 5, 4])], 1), // middle axis, runs of 20
      tf.concat([ai, bi], -1),
      tf.concat([a.greater(0), b.greater(0)], -1),
      tf.concat([a.reshape([8, 15]), b.reshape([2, 15])], 0), // outer axis: original path
    ];
  });
  assert.deepEqual(w, c);
});

test('Slice / split (short and long runs, contiguous, ranks 1–5) equal cpu exactly', async () => {
  const [w, c] = await both(() => {
    const x = tf.tensor5d(C, [2, 3, 7, 2, 3]);
    return [
      x.slice([0, 1, 2, 0, 1], [2, 2, 4, 2, 2]),
      x.slice([1, 0, 0, 1, 0], [1, 3, 7, 1, 3]),
      x.reshape([6, 42]).slice([1, 3], [4, 5]),
      x.reshape([6, 7, 6]).slice([0, 2, 1], [6, 3, 4]),
      x.slice([1, 0, 0, 0, 0], [1, 3, 7, 2, 3]), // contiguous
      x.reshape([252]).slice([17], [100]), // rank 1
      x.reshape([6, 42]).slice([1, 0], [3, 42]), // contiguous rows
      tf.concat([x.reshape([6, 42]), x.reshape([6, 42])], 1).reshape([4, 3, 42]).slice([1, 1, 2], [2, 2, 36]), // long runs, general
      x.reshape([6, 42]).slice([0, 5], [6, 33]), // one axis, long runs
      ...tf.split(x.reshape([42, 3, 2]), 2, -1),
      ...tf.split(x.reshape([6, 7, 6]), [1, 2, 3], -1),
      ...tf.split(x.reshape([42, 6]), [40, 2], 0),
      ...tf.split(x.mul(10).toInt().reshape([21, 2, 6]), 3, -1),
    ];
  });
  assert.deepEqual(w, c);
});

test('RoPE pair rotation and its gradient equal cpu exactly', async () => {
  const X = rng.normalArray(2 * 4 * 9 * 8);
  const [w, c] = await both(() => {
    const x = tf.tensor4d(X, [2, 4, 9, 8]);
    const f = (t: tf.Tensor) => rotateHalf(t).mul(t.add(1)).sum() as tf.Scalar;
    return [rotateHalf(x), tf.grad(f)(x)];
  });
  assert.deepEqual(w, c);
});
