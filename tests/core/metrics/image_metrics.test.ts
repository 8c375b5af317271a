import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, Rng, psnr, ssim, ssimPerImage, gaussianTaps } from '@raev2/core';
import { useBackend, testBackends } from '../../helpers/fixtures.js';

/** Direct float64 SSIM: every 11×11 valid window summed in 2-D (no separable filtering), skimage conventions. */
function ssimRef(a: Float32Array, b: Float32Array, h: number, w: number, c: number, range = 1): number {
  const g1 = gaussianTaps(11, 1.5);
  const c1 = (0.01 * range) ** 2, c2 = (0.03 * range) ** 2;
  let total = 0;
  for (let ch = 0; ch < c; ch++) {
    let sum = 0, count = 0;
    for (let i = 0; i + 11 <= h; i++) for (let j = 0; j + 11 <= w; j++) {
      let mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
      for (let u = 0; u < 11; u++) for (let v = 0; v < 11; v++) {
        const wt = g1[u] * g1[v], k = ((i + u) * w + (j + v)) * c + ch;
        const x = a[k], y = b[k];
        mx += wt * x; my += wt * y; xx += wt * x * x; yy += wt * y * y; xy += wt * x * y;
      }
      const vx = xx - mx * mx, vy = yy - my * my, cxy = xy - mx * my;
      sum += ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      count++;
    }
    total += sum / count;
  }
  return total / c;
}

test('Gaussian taps: 11 taps, σ 1.5, normalised, symmetric (scipy gaussian_filter truncate 3.5)', () => {
  const g = gaussianTaps(11, 1.5);
  assert.ok(Math.abs(g.reduce((s, v) => s + v, 0) - 1) < 1e-15);
  assert.ok(Math.abs(g[5] - 0.2660117248617961) < 1e-12, `centre tap ${g[5]}`);
  assert.equal(g[0], g[10]);
});

for (const backend of testBackends()) {
  test(`SSIM matches a direct float64 reference; identities (${backend})`, async () => {
    await useBackend(backend);
    const rng = new Rng(4);
    const before = tf.memory().numTensors;
    const [b, h, w, c] = [3, 19, 23, 3];
    const x = rng.rand([b, h, w, c]);
    // a correlated distortion: blend with noise and a brightness shift, per image differently
    const noise = rng.rand([b, h, w, c]);
    const y = tf.tidy(() => x.mul(tf.tensor([0.9, 0.5, 0.1], [3, 1, 1, 1])).add(noise.mul(tf.tensor([0.1, 0.5, 0.9], [3, 1, 1, 1]))).add(0.05));
    const got = ssim(x, y);
    const xd = x.dataSync(), yd = y.dataSync(), n = h * w * c;
    for (let i = 0; i < b; i++) {
      const ref = ssimRef(xd.slice(i * n, (i + 1) * n) as Float32Array, yd.slice(i * n, (i + 1) * n) as Float32Array, h, w, c);
      assert.ok(Math.abs(got[i] - ref) < 2e-5, `image ${i}: ${got[i]} vs ${ref}`);
    }
    assert.ok(got[0] > got[1] && got[1] > got[2], `SSIM falls with more noise: ${got}`);
    assert.deepEqual(ssim(x, x).map((v) => Math.abs(v - 1) < 1e-5), [true, true, true]);
    assert.ok(Math.abs(ssim(y, x)[1] - got[1]) < 1e-6, 'symmetric');
    // constant images u, v: SSIM = (2uv + C1)/(u² + v² + C1)
    const cu = tf.fill([1, 12, 12, 1], 0.3), cv = tf.fill([1, 12, 12, 1], 0.6);
    const k = ssim(cu, cv)[0], c1 = 1e-4;
    assert.ok(Math.abs(k - (2 * 0.18 + c1) / (0.09 + 0.36 + c1)) < 1e-4, `constant ${k}`);
    tf.dispose([x, noise, y, cu, cv]);
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
  });
}

test('SSIM is differentiable (usable as a loss) and rejects tiny images', async () => {
  await useBackend('wasm');
  const x = tf.variable(new Rng(1).rand([1, 12, 12, 3]));
  const y = new Rng(2).rand([1, 12, 12, 3]);
  const g = tf.grad((v: tf.Tensor) => ssimPerImage(v, y).sum())(x);
  assert.ok(tf.tidy(() => g.abs().sum().dataSync()[0]) > 0);
  assert.throws(() => ssim(tf.zeros([1, 8, 8, 3]), tf.zeros([1, 8, 8, 3])), /at least 11×11/);
  tf.dispose([x, y, g]);
});

test('PSNR: 10·log10(1/MSE) per image, Infinity when identical', async () => {
  await useBackend('cpu');
  const a = tf.zeros([2, 4, 4, 3]);
  const b = tf.tidy(() => tf.concat([tf.fill([1, 4, 4, 3], 0.1), tf.zeros([1, 4, 4, 3])], 0));
  const p = psnr(a, b);
  assert.ok(Math.abs(p[0] - 20) < 1e-4, `${p[0]}`);
  assert.equal(p[1], Infinity);
  assert.ok(Math.abs(psnr(a, b, 255)[0] - 20 * Math.log10(2550)) < 1e-3);
  assert.throws(() => psnr(a, tf.zeros([2, 4, 4, 1])), /differ in shape/);
  tf.dispose([a, b]);
});
