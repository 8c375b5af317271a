import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, Rng, ReconstructionMetrics, pooledFeatures, psnr, ssim, encodeImages, disposeOutput } from '@raev2/core';
import { useBackend } from '../../helpers/fixtures.js';
import { fakeEncoder } from '../rae/fake_encoder.js';

test('reconstruction metrics: batch accumulation equals whole-set PSNR/SSIM; rFD 0 for perfect reconstructions', async () => {
  await useBackend('cpu');
  const enc = fakeEncoder({ dim: 8 });
  const before = tf.memory().numTensors;
  const rng = new Rng(3);
  const x = rng.rand([6, 16, 16, 3]);
  const y = tf.tidy(() => x.add(rng.randn([6, 16, 16, 3], 0, 0.1))); // some values leave [0, 1]: clamped
  const m = new ReconstructionMetrics(enc), perfect = new ReconstructionMetrics(enc);
  for (const [s, e] of [[0, 4], [4, 6]]) {
    const xs = x.slice([s], [e - s]), ys = y.slice([s], [e - s]);
    m.update(xs, ys);
    perfect.update(xs, xs);
    tf.dispose([xs, ys]);
  }
  const yc = tf.tidy(() => y.clipByValue(0, 1));
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const sum = m.summary();
  assert.equal(sum.count, 6);
  assert.ok(Math.abs(sum.psnr - mean(psnr(x, yc))) < 1e-9);
  assert.ok(Math.abs(sum.ssim - mean(ssim(x, yc))) < 1e-6);
  assert.ok(sum.rfd! > 0);
  const p = perfect.summary();
  assert.equal(p.psnr, Infinity);
  assert.ok(Math.abs(p.rfd!) < 1e-9 && Math.abs(p.ssim - 1) < 1e-5);
  // pooled features = token mean of the last block's patch tokens
  const f = pooledFeatures(enc, x);
  const out = encodeImages(enc, x);
  const ref = tf.tidy(() => out.hiddenStates[4].slice([0, 1, 0], [-1, -1, -1]).mean(1));
  assert.deepEqual(Array.from(f.dataSync()), Array.from(ref.dataSync()));
  disposeOutput(out);
  tf.dispose([x, y, yc, f, ref]);
  assert.equal(tf.memory().numTensors, before);
  enc.dispose();
});
