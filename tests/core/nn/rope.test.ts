import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, ropeTable, rotateHalf, applyRope, Rope } from '@raev2/core';
import { useBackend, testBackends } from '../../helpers/fixtures.js';

/** Float64 EVA 2-D RoPE of one head vector at grid position (i, j): pairs (2k, 2k+1) rotate by i·ω_k (first half) or j·ω_k (second half). */
function ropeRef(v: number[], i: number, j: number, theta = 10000): number[] {
  const dh = v.length, d = dh / 2;
  const out = v.slice();
  for (let p = 0; p < dh / 2; p++) {
    const half = p < d / 2 ? 0 : 1, k = half === 0 ? p : p - d / 2;
    const ang = (half === 0 ? i : j) / Math.pow(theta, (2 * k) / d);
    const [a, b] = [v[2 * p], v[2 * p + 1]];
    out[2 * p] = a * Math.cos(ang) - b * Math.sin(ang);
    out[2 * p + 1] = b * Math.cos(ang) + a * Math.sin(ang);
  }
  return out;
}

for (const backend of testBackends()) {
  test(`RoPE rotates image tokens by their (row, col) and leaves condition tokens alone (${backend})`, async () => {
    await useBackend(backend);
    const [gh, gw, dh, cond] = [3, 2, 8, 2];
    const rope = new Rope(dh, gh, gw, cond);
    const n = gh * gw + cond + 1; // one more trailing token than the table has rows: also unrotated
    const vals = Array.from({ length: 2 * n * dh }, (_, k) => Math.sin(0.37 * k + 1));
    const before = tf.memory().numTensors;
    const x = tf.tensor4d(vals, [1, 2, n, dh]);
    const y = rope.forward(x);
    const got = y.dataSync();
    for (let h = 0; h < 2; h++) for (let tkn = 0; tkn < n; tkn++) {
      const off = (h * n + tkn) * dh;
      const v = vals.slice(off, off + dh);
      const want = tkn < gh * gw ? ropeRef(v, Math.floor(tkn / gw), tkn % gw) : v;
      for (let c = 0; c < dh; c++) assert.ok(Math.abs(got[off + c] - want[c]) < 1e-5, `head ${h} token ${tkn} ch ${c}: ${got[off + c]} vs ${want[c]}`);
    }
    tf.dispose([x, y]);
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    rope.dispose();
  });
}

test('rotateHalf maps interleaved pairs (a, b) → (−b, a); tables reject head dims not divisible by 4', async () => {
  await useBackend('cpu');
  const x = tf.tensor2d([[1, 2, 3, 4]]);
  const r = rotateHalf(x);
  assert.deepEqual(Array.from(r.dataSync()), [-2, 1, -4, 3]);
  assert.throws(() => ropeTable(6, 2, 2), /divisible by 4/);
  const t = ropeTable(8, 2, 2, 3);
  assert.equal(t.rows, 7);
  assert.equal(t.cos[0], 1);
  // RoPE keeps norms (a rotation)
  const v = tf.randomNormal([1, 1, 4, 8], 0, 1, 'float32', 3);
  const y = applyRope(v, tf.tensor2d(t.cos, [7, 8]), tf.tensor2d(t.sin, [7, 8]));
  const nv = tf.tidy(() => v.square().sum(-1).dataSync());
  const ny = tf.tidy(() => y.square().sum(-1).dataSync());
  nv.forEach((a, i) => assert.ok(Math.abs(a - ny[i]) < 1e-4));
  tf.dispose([x, r, v, y]);
});
