import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, dimensionShift, shiftTimes, timesFromDraws, raeTransport, timeDistribution, interpolate, velocityTarget, velocityLoss, meanFlat } from '@raev2/core';
import { loadIO, assertClose, useBackend, testBackends } from '../../helpers/fixtures.js';

for (const backend of testBackends()) {
  test(`rae_transport fixture: shift, sampled t on [0, 1 − 1/1000], path and velocity loss (${backend})`, async () => {
    await useBackend(backend);
    const io = loadIO('rae_transport');
    const before = tf.memory().numTensors;
    const s = dimensionShift(16 * 16, 768);
    assert.ok(Math.abs(s - 6.928203230275509) < 1e-12);
    const cfg = raeTransport(s);
    const ts = shiftTimes(io.get('shift.t_in')!, s);
    assertClose(ts, io.get('shift.t_shifted')!, 1e-6, 'shift.t_shifted');
    const st = timesFromDraws(io.get('sample.u')!, timeDistribution(cfg));
    assertClose(st, io.get('sample.t')!, 1e-6, 'sample.t');
    const x1 = io.get('loss.x1')!, x0 = io.get('loss.x0')!, t = io.get('loss.t')!;
    const xt = interpolate(x1, x0, t);
    assertClose(xt, io.get('loss.xt')!, 1e-6, 'loss.xt');
    const ut = velocityTarget(x1, x0);
    assertClose(ut, io.get('loss.ut')!, 1e-6, 'loss.ut');
    const l = velocityLoss(io.get('loss.model_output')!, x1, x0);
    const lb = meanFlat(l);
    assertClose(lb, io.get('loss.loss')!, 1e-5, 'loss.loss');
    tf.dispose([ts, st, xt, ut, l, lb]);
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    for (const v of io.values()) v.dispose();
  });
}
