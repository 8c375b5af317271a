import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, Rng, scaledDotProductAttention, keyPaddingMask, splitHeads, mergeHeads } from '@raev2/core';
import { checkAll, randArr } from './gradcheck.js';
import { attention64 } from './ref64.js';
import { useBackend } from '../../helpers/fixtures.js';

const rng = new Rng(11);
const [B, H, NQ, NK, D] = [2, 2, 3, 4, 4];

test('scaledDotProductAttention without mask (default scale 1/√Dh) vs float64', async () => {
  await checkAll({
    name: 'sdpa',
    inputs: { q: randArr(rng, [B, H, NQ, D]), k: randArr(rng, [B, H, NK, D]), v: randArr(rng, [B, H, NK, D]) },
    forward: (_, { q, k, v }) => scaledDotProductAttention(q, k, v),
    ref: (x) => attention64(x.q, x.k, x.v, B * H, NQ, NK, D, 1 / Math.sqrt(D)),
  });
});

test('scaledDotProductAttention with an additive mask [B,1,Nq,Nk] and explicit scale vs float64', async () => {
  await checkAll({
    name: 'sdpa+mask',
    inputs: { q: randArr(rng, [B, H, NQ, D]), k: randArr(rng, [B, H, NK, D]), v: randArr(rng, [B, H, NK, D]) },
    consts: { mask: randArr(rng, [B, 1, NQ, NK], 2) },
    forward: (_, { q, k, v, mask }) => scaledDotProductAttention(q, k, v, mask, 0.3),
    ref: (x) => attention64(x.q, x.k, x.v, B * H, NQ, NK, D, 0.3, (bh, i, j) => x.mask[(Math.floor(bh / H) * NQ + i) * NK + j]),
  });
});

test('scaledDotProductAttention with a key padding mask: dropped keys get no weight and no gradient', async () => {
  const keep = [1, 1, 0, 1, 0, 1, 1, 0]; // [B, NK]
  await checkAll({
    name: 'sdpa+keyPadding',
    inputs: { q: randArr(rng, [B, H, NQ, D]), k: randArr(rng, [B, H, NK, D]), v: randArr(rng, [B, H, NK, D]) },
    consts: { keep: { shape: [B, NK], data: Float64Array.from(keep) } },
    forward: (_, { q, k, v, keep: kp }) => scaledDotProductAttention(q, k, v, keyPaddingMask(kp)),
    ref: (x) => attention64(x.q, x.k, x.v, B * H, NQ, NK, D, 1 / Math.sqrt(D), (bh, _i, j) => (keep[Math.floor(bh / H) * NK + j] ? 0 : -Infinity)),
  });
});

test('keyPaddingMask: a fully masked row stays finite (uniform average, as HF finfo.min)', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const out = tf.tidy(() => {
    const q = rng.randn([1, 1, 2, 3]), k = rng.randn([1, 1, 4, 3]), v = rng.randn([1, 1, 4, 3]);
    const y = scaledDotProductAttention(q, k, v, keyPaddingMask(tf.zeros([1, 4])));
    return { y: y.arraySync() as number[][][][], mean: v.mean(2).arraySync() as number[][][] };
  });
  const { y, mean } = out;
  for (const row of y[0][0]) row.forEach((val, c) => assert.ok(Math.abs(val - mean[0][0][c]) < 1e-6, `${val} vs mean ${mean[0][0][c]}`));
  assert.equal(tf.memory().numTensors, before);
});

test('splitHeads/mergeHeads: [B,N,H·Dh] ↔ [B,H,N,Dh] with channel h·Dh+d → head h', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const x = tf.range(0, 2 * 3 * 6).reshape([2, 3, 6]);
    const s = splitHeads(x, 2);
    assert.deepEqual(s.shape, [2, 2, 3, 3]);
    const sv = s.arraySync() as number[][][][];
    const xv = x.arraySync() as number[][][];
    for (let b = 0; b < 2; b++) for (let h = 0; h < 2; h++) for (let n = 0; n < 3; n++) for (let d = 0; d < 3; d++) assert.equal(sv[b][h][n][d], xv[b][n][h * 3 + d]);
    assert.deepEqual(mergeHeads(s).arraySync(), xv);
  });
  assert.equal(tf.memory().numTensors, before);
});
