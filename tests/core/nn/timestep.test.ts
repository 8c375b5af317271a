import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, GaussianFourierEmbedding, Rng } from '@raev2/core';
import { useBackend, testBackends } from '../../helpers/fixtures.js';

for (const backend of testBackends()) {
  test(`Gaussian-Fourier time embedding equals a float64 recomputation; tokens add the learned tokens (${backend})`, async () => {
    await useBackend(backend);
    const dim = 6, e = 5;
    const emb = new GaussianFourierEmbedding(dim, { numTokens: 3, embeddingSize: e, rng: new Rng(4) });
    const sd = emb.stateDict();
    const W = Array.from(sd.get('W')!.dataSync());
    const w1 = Array.from(sd.get('mlp.0.weight')!.dataSync()), b1 = Array.from(sd.get('mlp.0.bias')!.dataSync());
    const w2 = Array.from(sd.get('mlp.2.weight')!.dataSync()), b2 = Array.from(sd.get('mlp.2.bias')!.dataSync());
    const lt = Array.from(sd.get('learnable_tokens')!.dataSync());
    assert.deepEqual(sd.get('W')!.shape, [e]);
    assert.deepEqual(sd.get('mlp.0.weight')!.shape, [dim, 2 * e]);
    const ts = [0, 0.3, 1];
    const before = tf.memory().numTensors;
    const t = tf.tensor1d(ts);
    const tok = emb.tokens(t);
    const got = tok.dataSync();
    for (let bi = 0; bi < ts.length; bi++) {
      const f = [...W.map((w) => Math.sin(2 * Math.PI * ts[bi] * w)), ...W.map((w) => Math.cos(2 * Math.PI * ts[bi] * w))];
      const h = b1.map((b, o) => { const z = b + f.reduce((s, v, k) => s + v * w1[o * 2 * e + k], 0); return z / (1 + Math.exp(-z)); });
      const y = b2.map((b, o) => b + h.reduce((s, v, k) => s + v * w2[o * dim + k], 0));
      for (let k = 0; k < 3; k++) for (let c = 0; c < dim; c++) {
        const want = lt[k * dim + c] + y[c];
        assert.ok(Math.abs(got[(bi * 3 + k) * dim + c] - want) < 1e-5, `t=${ts[bi]} token ${k} ch ${c}`);
      }
    }
    tf.dispose([t, tok]);
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    emb.dispose();
  });
}

test('time embedding init: MLP weights ~ N(0, 0.02), W ~ N(0, 1), W is a buffer (never trained); same seed → same weights', async () => {
  await useBackend('cpu');
  const a = new GaussianFourierEmbedding(64, { rng: new Rng(1) });
  const b = new GaussianFourierEmbedding(64, { rng: new Rng(1) });
  const std = (x: tf.Tensor) => tf.tidy(() => tf.moments(x).variance.sqrt().dataSync()[0]);
  assert.ok(Math.abs(std(a.mlp.fc1.weight) - 0.02) < 0.002);
  assert.ok(Math.abs(std(a.stateDict().get('W')!) - 1) < 0.15);
  assert.ok(!a.namedParameters().some(([k]) => k === 'W'));
  assert.equal(a.learnableTokens, null);
  assert.deepEqual(Array.from(a.mlp.fc2.weight.dataSync()), Array.from(b.mlp.fc2.weight.dataSync()));
  a.dispose();
  b.dispose();
});
