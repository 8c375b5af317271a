import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, Ema, Linear, Rng, clipGradNorm, globalGradNorm, lrAt, parseSchedule, valueAndGrads, disposeGrads, type Tensor } from '@raev2/core';
import { assertClose, useBackend } from '../../helpers/fixtures.js';

test('Ema: update math, copyTo, swap and state round trip', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const net = new Linear(3, 2, { rng: new Rng(1) });
  const w0 = Array.from(net.weight.dataSync());
  const ema = new Ema(net);
  assert.deepEqual(ema.names, ['weight', 'bias']);
  // two updates towards moving targets: s ← d·s + (1 − d)·p
  let s = [...w0];
  for (const [d, delta] of [[0.9, 1], [0.5, -2]] as const) {
    const moved = net.weight.add(delta);
    net.weight.assign(moved);
    moved.dispose();
    const p = Array.from(net.weight.dataSync());
    ema.update(d);
    s = s.map((v, i) => d * v + (1 - d) * p[i]);
  }
  const sd = ema.stateDict();
  assertClose(sd.get('weight')!, s, 1e-6, 'EMA shadow');
  const live = Array.from(net.weight.dataSync());
  ema.swap();
  assertClose(net.weight, s, 1e-6, 'swapped-in EMA');
  ema.swap();
  assert.deepEqual(Array.from(net.weight.dataSync()), live, 'swap twice restores the live weights');
  const copy = new Linear(3, 2, { rng: new Rng(9) });
  ema.copyTo(copy);
  assertClose(copy.weight, s, 1e-6, 'copyTo');
  const other = new Ema(copy);
  other.loadStateDict(sd);
  const sd2 = other.stateDict();
  assert.deepEqual(Array.from(sd2.get('weight')!.dataSync()), Array.from(sd.get('weight')!.dataSync()));
  assert.throws(() => other.loadStateDict(new Map([['weight', sd.get('weight')!]]), 'ema.safetensors'), /ema\.safetensors[\s\S]*missing "bias"/);
  assert.throws(() => ema.update(1.5), /decay/);
  for (const t of [...sd.values(), ...sd2.values()]) t.dispose();
  for (const x of [ema, other, net, copy]) x.dispose();
  assert.equal(tf.memory().numTensors, before, 'EMA leaks tensors');
});

test('schedules: warm-up end, linear/cosine midpoints and ends, validation', () => {
  const cos = parseSchedule({ kind: 'cosine', lr: 2e-4, finalLr: 2e-5, warmupSteps: 10, totalSteps: 110 });
  assert.equal(lrAt(cos, 0), 2e-5);
  assert.equal(lrAt(cos, 4), 1e-4);
  assert.equal(lrAt(cos, 9), 2e-4, 'warm-up ends at the peak');
  assert.equal(lrAt(cos, 10), 2e-4);
  assert.ok(Math.abs(lrAt(cos, 60) - 1.1e-4) < 1e-18, 'cosine midpoint = (lr + finalLr)/2');
  assert.equal(lrAt(cos, 110), 2e-5);
  assert.equal(lrAt(cos, 500), 2e-5, 'clamped after the end');
  const lin = parseSchedule({ kind: 'linear', lr: 1, warmupSteps: 0, totalSteps: 100 });
  assert.equal(lrAt(lin, 0), 1);
  assert.equal(lrAt(lin, 25), 0.75);
  assert.equal(lrAt(lin, 100), 0);
  const c = parseSchedule({ kind: 'constant', lr: 3e-4, warmupSteps: 4 });
  assert.deepEqual([0, 1, 2, 3, 4, 1000].map((s) => lrAt(c, s)), [0.75e-4, 1.5e-4, 2.25e-4, 3e-4, 3e-4, 3e-4]);
  assert.throws(() => parseSchedule({ kind: 'cosine', lr: 1, warmupSteps: 20, totalSteps: 10 }, 'run.json'), /run\.json[\s\S]*warmupSteps/);
  assert.throws(() => parseSchedule({ kind: 'cosine', lr: -1, totalSteps: 10 }), /lr/);
  assert.throws(() => parseSchedule({ kind: 'step', lr: 1 }), /kind/);
});

test('clipGradNorm: returns the pre-clip global norm and scales to maxNorm', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const grads = new Map<string, Tensor>([['a', tf.tensor([3, 0])], ['b', tf.tensor([[0, 4]])]]);
  assert.equal(globalGradNorm(grads), 5);
  assert.equal(clipGradNorm(grads, 10), 5, 'below the threshold');
  assert.deepEqual(Array.from(grads.get('a')!.dataSync()), [3, 0], 'unchanged below the threshold');
  assert.equal(clipGradNorm(grads, 1), 5);
  const coef = 1 / (5 + 1e-6);
  assertClose(grads.get('a')!, [3 * coef, 0], 1e-7, 'clipped a');
  assertClose(grads.get('b')!, [0, 4 * coef], 1e-7, 'clipped b');
  assert.ok(Math.abs(globalGradNorm(grads) - 1) < 1e-6);
  disposeGrads(grads);
  assert.equal(tf.memory().numTensors, before, 'clipping leaks tensors');
});

test('valueAndGrads: gradients by parameter name, frozen and unreached parameters skipped', async () => {
  await useBackend('cpu');
  const net = new Linear(2, 1, { rng: new Rng(2) });
  const unused = new Linear(2, 2, { rng: new Rng(3) });
  const x = tf.tensor2d([[1, 2], [3, -1]]);
  const { value, grads } = valueAndGrads(() => net.forward(x).square().sum() as tf.Scalar, [...net.namedParameters(), ...unused.namedParameters('u.')]);
  const w = net.weight.dataSync(), b = net.bias!.dataSync()[0];
  const y = [w[0] * 1 + w[1] * 2 + b, w[0] * 3 - w[1] + b];
  assert.ok(Math.abs(value - (y[0] ** 2 + y[1] ** 2)) < 1e-5);
  assert.deepEqual([...grads.keys()], ['weight', 'bias']);
  assertClose(grads.get('weight')!, [2 * y[0] * 1 + 2 * y[1] * 3, 2 * y[0] * 2 - 2 * y[1]], 1e-5, 'dL/dW');
  disposeGrads(grads);
  net.bias!.trainable = false;
  const r = valueAndGrads(() => net.forward(x).sum() as tf.Scalar, net.namedParameters());
  assert.deepEqual([...r.grads.keys()], ['weight']);
  disposeGrads(r.grads);
  x.dispose(); net.dispose(); unused.dispose();
});
