import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, dimensionShift, shiftTimes, interpolate, xToVelocity, xPredictionLoss, raev2Transport, type Tensor } from '@raev2/core';
import { loadIO, assertClose, useBackend, testBackends } from '../../helpers/fixtures.js';

/** max |a − b| / max(|b|, 1): the fixture's loss values reach 5e3, so compare relatively. */
function maxRelDiff(a: Tensor, b: Tensor): number {
  const x = a.dataSync(), y = b.dataSync();
  assert.deepEqual(a.shape, b.shape);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]) / Math.max(Math.abs(y[i]), 1));
  return m;
}

for (const backend of testBackends()) {
  test(`raev2_transport fixture: shift, x-prediction v-space losses with t-clamp 0.05, base term (${backend})`, async () => {
    await useBackend(backend);
    const io = loadIO('raev2_transport');
    const before = tf.memory().numTensors;
    const s = dimensionShift(16 * 16, 1024);
    assert.equal(s, 8);
    const cfg = raev2Transport(s);
    assert.equal(cfg.tEps, 0.05);
    assert.equal(cfg.baseWeight, 1);
    const ts = shiftTimes(io.get('shift.t_in')!, s);
    assertClose(ts, io.get('shift.t_shifted')!, 1e-6, 'shift.t_shifted');
    const x1 = io.get('loss.x1')!, x0 = io.get('loss.x0')!, t = io.get('loss.t')!;
    const xt = interpolate(x1, x0, t);
    assertClose(xt, io.get('loss.xt')!, 1e-6, 'loss.xt');
    const vt = xToVelocity(xt, x1, t, cfg.tEps);
    const vPred = xToVelocity(xt, io.get('loss.model_output')!, t, cfg.tEps);
    assertClose(vt, io.get('loss.vt')!, 2e-5, 'loss.vt');
    assertClose(vPred, io.get('loss.v_pred')!, 2e-5, 'loss.v_pred');
    const full = xPredictionLoss(io.get('loss.model_output')!, x1, xt, t, cfg.tEps);
    const base = xPredictionLoss(io.get('loss.model_output_base')!, x1, xt, t, cfg.tEps);
    const total = tf.tidy(() => full.add(base.mul(cfg.baseWeight)));
    const rel = { 'loss.loss': maxRelDiff(full, io.get('loss.loss')!), 'loss_ig.loss_base': maxRelDiff(base, io.get('loss_ig.loss_base')!), 'loss_ig.loss': maxRelDiff(total, io.get('loss_ig.loss')!) };
    console.log(`  [${backend}] max rel diffs: ${Object.entries(rel).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
    for (const [k, v] of Object.entries(rel)) assert.ok(v <= 1e-5, `${k}: ${v}`);
    tf.dispose([ts, xt, vt, vPred, full, base, total]);
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    for (const v of io.values()) v.dispose();
  });
}

test('x-prediction v-loss equals ‖x̂ − x‖² / max(t, 0.05)² (float64 recomputation)', async () => {
  await useBackend('cpu');
  const b = 4, n = 10;
  const xs = Array.from({ length: b * n }, (_, i) => Math.sin(i * 1.3));
  const xh = Array.from({ length: b * n }, (_, i) => Math.cos(i * 0.7));
  const eps = Array.from({ length: b * n }, (_, i) => Math.sin(i * 2.1 + 1));
  const ts = [0.01, 0.05, 0.4, 0.97];
  const x = tf.tensor2d(xs, [b, n]), xHat = tf.tensor2d(xh, [b, n]), noise = tf.tensor2d(eps, [b, n]), t = tf.tensor1d(ts);
  const xt = interpolate(x, noise, t);
  const l = xPredictionLoss(xHat, x, xt, t);
  const got = l.dataSync();
  for (let i = 0; i < b; i++) for (let j = 0; j < n; j++) {
    const want = (xh[i * n + j] - xs[i * n + j]) ** 2 / Math.max(ts[i], 0.05) ** 2;
    assert.ok(Math.abs(got[i * n + j] - want) <= 1e-4 * Math.max(1, want), `(${i},${j}): ${got[i * n + j]} vs ${want}`);
  }
  tf.dispose([x, xHat, noise, t, xt, l]);
});
