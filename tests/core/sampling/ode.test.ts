import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, flowGrid, raeGrid, sampleEuler, sampleHeun, sample, countNfe, dimensionShift, Rng, type Denoiser, type Tensor } from '@raev2/core';
import { loadIO, assertClose, useBackend, testBackends } from '../../helpers/fixtures.js';

/** The fixtures' toy model: f(x, t) = (0.5 − t)·x + 0.1·t, t per batch element; records the times it is called at. */
function toy(calls: number[]): Denoiser {
  return (x, t) => {
    calls.push(t.dataSync()[0]);
    return { full: tf.tidy(() => { const te = t.reshape([-1, 1, 1, 1]); return tf.scalar(0.5).sub(te).mul(x).add(te.mul(0.1)); }) };
  };
}

for (const backend of testBackends()) {
  test(`rae_transport ode fixture: torchdiffeq-style Euler on shift(1 − linspace(0, 1 − 1/1000, 4)) (${backend})`, async () => {
    await useBackend(backend);
    const io = loadIO('rae_transport');
    const before = tf.memory().numTensors;
    const grid = raeGrid(4, dimensionShift(256, 768));
    assertClose(grid, io.get('ode.t_grid')!.dataSync(), 1e-6, 'ode.t_grid');
    const calls: number[] = [];
    const states: Tensor[] = [io.get('ode.x_init')!.clone()];
    const out = sampleEuler(toy(calls), io.get('ode.x_init')!, { grid, cond: {}, prediction: 'velocity', onStep: ({ x }) => states.push(x.clone()) });
    assertClose(calls, io.get('ode.t_eval')!.dataSync(), 1e-6, 'ode.t_eval');
    const all = tf.stack(states);
    assertClose(all, io.get('ode.samples')!, 1e-5, 'ode.samples');
    assertClose(out, states[states.length - 1], 0, 'final state');
    tf.dispose([out, all, ...states]);
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    for (const v of io.values()) v.dispose();
  });

  test(`raev2_transport ode fixture: Euler on shift(linspace(1, 0, 4)) with x → v conversion (${backend})`, async () => {
    await useBackend(backend);
    const io = loadIO('raev2_transport');
    const before = tf.memory().numTensors;
    const grid = flowGrid(3, 8);
    assertClose(grid, io.get('ode.t_grid')!.dataSync(), 1e-6, 'ode.t_grid');
    const calls: number[] = [];
    const states: Tensor[] = [io.get('ode.x_init')!.clone()];
    const out = sampleEuler(toy(calls), io.get('ode.x_init')!, { grid, cond: {}, prediction: 'x', onStep: ({ x }) => states.push(x.clone()) });
    assertClose(calls, io.get('ode.t_eval')!.dataSync(), 1e-6, 'ode.t_eval');
    const all = tf.stack(states);
    assertClose(all, io.get('ode.states')!, 1e-5, 'ode.states');
    const fin = out.expandDims(0);
    assertClose(fin, io.get('ode.final')!, 1e-5, 'ode.final');
    tf.dispose([out, all, fin, ...states]);
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    for (const v of io.values()) v.dispose();
  });
}

test('Euler and Heun on dx/dt = a·x match the analytic x(0) = x(1)·e^{−a}; Heun is second order', async () => {
  await useBackend('cpu');
  const a = 1.3;
  const lin: Denoiser = (x) => ({ full: x.mul(a) });
  const x1 = tf.tensor3d([[[1, -2], [0.5, 3]]]);
  const exact = x1.mul(Math.exp(-a));
  const err = (n: number, heun: boolean) => {
    const grid = Array.from({ length: n + 1 }, (_, i) => 1 - i / n);
    const o = { grid, cond: {}, prediction: 'velocity' as const };
    const y = heun ? sampleHeun(lin, x1, o) : sampleEuler(lin, x1, o);
    const e = tf.tidy(() => y.sub(exact).abs().max().dataSync()[0]);
    y.dispose();
    return e;
  };
  // Euler: x_N = x(1)·(1 − a/N)^N exactly
  const gridE = Array.from({ length: 21 }, (_, i) => 1 - i / 20);
  const ye = sampleEuler(lin, x1, { grid: gridE, cond: {}, prediction: 'velocity' });
  const want = x1.mul((1 - a / 20) ** 20);
  assertClose(ye, want, 1e-5, 'Euler closed form');
  const [e10, e20] = [err(10, false), err(20, false)];
  const [h10, h20] = [err(10, true), err(20, true)];
  assert.ok(e10 / e20 > 1.8 && e10 / e20 < 2.2, `Euler error ratio ${e10 / e20}`);
  assert.ok(h10 / h20 > 3.5 && h10 / h20 < 4.5, `Heun error ratio ${h10 / h20}`);
  assert.ok(h20 < e20 / 10, 'Heun beats Euler');
  tf.dispose([x1, exact, ye, want]);
});

test('NFE: Euler calls the model once per step, Heun twice (once on a final step to t = 0); sampling is seeded', async () => {
  await useBackend('cpu');
  const { denoiser, nfe } = countNfe((x) => ({ full: x.mul(0.5) }));
  const grid = flowGrid(5, 2);
  const o = { grid, cond: {}, prediction: 'x' as const };
  const steps: number[] = [];
  const a = sample(denoiser, [2, 3, 4], new Rng(9), { ...o, onStep: ({ step }) => steps.push(step) });
  assert.equal(nfe.calls, 5);
  assert.equal(nfe.rows, 10);
  assert.deepEqual(steps, [0, 1, 2, 3, 4]);
  nfe.reset();
  const b = sample(denoiser, [2, 3, 4], new Rng(9), { ...o, method: 'heun' });
  assert.equal(nfe.calls, 2 * 5 - 1);
  const c = sample(denoiser, [2, 3, 4], new Rng(9), o);
  assertClose(a, c, 0, 'same seed → same sample');
  assert.throws(() => sample(denoiser, [1, 1, 1], new Rng(0), { ...o, method: 'dpm' as 'euler' }), /unknown sampler "dpm"/);
  tf.dispose([a, b, c]);
});
