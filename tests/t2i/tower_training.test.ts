import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '@raev2/core';
import { tokenIdentityLoss } from '@raev2/t2i';

test('token identity: mean over non-pad positions of −log softmax(h·Eᵀ)[id], against a float64 recomputation', () => {
  const b = 2, l = 3, h = 4, v = 5, pad = 0;
  const hid = Array.from({ length: b * l * h }, (_, i) => Math.sin(1.3 * i) * 2);
  const emb = Array.from({ length: v * h }, (_, i) => Math.cos(0.7 * i + 0.2));
  const ids = [3, 1, 0, 4, 2, 1]; // one pad position
  let want = 0, n = 0;
  for (let p = 0; p < b * l; p++) {
    if (ids[p] === pad) continue;
    const logits = Array.from({ length: v }, (_, w) => hid.slice(p * h, (p + 1) * h).reduce((s, x, k) => s + x * emb[w * h + k], 0));
    const m = Math.max(...logits);
    const lse = m + Math.log(logits.reduce((s, z) => s + Math.exp(z - m), 0));
    want += lse - logits[ids[p]];
    n++;
  }
  want /= n;
  const n0 = tf.memory().numTensors;
  const [ht, it, et] = [tf.tensor3d(hid, [b, l, h]), tf.tensor2d(ids, [b, l], 'int32'), tf.tensor2d(emb, [v, h])];
  const loss = tokenIdentityLoss(ht, it, et, pad);
  assert.ok(Math.abs(loss.dataSync()[0] - want) < 1e-5 * Math.abs(want), `${loss.dataSync()[0]} vs ${want}`);
  tf.dispose([ht, it, et, loss]);
  assert.equal(tf.memory().numTensors, n0);
});
