import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  tf, Rng, createDiT, raev2Transport, raeTransport, drawTraining, flowMatchingLoss, lossForGrads, interpolate, xPredictionLoss,
  sampleTimes, timeDistribution, shiftTime, dropLabels, dropCondition, parseTransportConfig, valueAndGrads, type Tensor,
} from '@raev2/core';
import { useBackend, testBackends } from '../../helpers/fixtures.js';

type Pair = [number, number];
const tiny = { inputSize: 2, inChannels: 4, hiddenSize: [16, 16] as Pair, depth: [2, 1] as Pair, numHeads: [2, 2] as Pair, numClasses: 3 };

for (const backend of testBackends()) {
  test(`flowMatchingLoss: RAEv2 loss = full + 1.0·base in v-space; gradients reach every parameter (${backend})`, async () => {
    await useBackend(backend);
    const model = createDiT({ arch: 'raev2', ...tiny, baseDepth: 1, repa: { depth: 1, targetDim: 5, hidden: 8 } }, 1);
    for (const [, v] of model.namedParameters()) v.assign(tf.tidy(() => tf.randomNormal(v.shape, 0, 0.2, 'float32', 11)));
    const cfg = raev2Transport(1.5);
    const rng = new Rng(3);
    const x = rng.randn([2, 4, 4]);
    const labels = tf.tensor1d([0, 3], 'int32');
    const draw = drawTraining(rng, x.shape, cfg);
    const target = rng.randn([2, 4, 5]);
    const before = tf.memory().numTensors;
    const terms = flowMatchingLoss(model, x, { labels }, draw, cfg, { repaTarget: target });
    // recompute from the model's outputs
    const xt = interpolate(x, draw.noise, draw.t);
    const o = model.forward(xt, draw.t, { labels }, { repa: true });
    const full = tf.tidy(() => xPredictionLoss(o.full, x, xt, draw.t).mean().dataSync()[0]);
    const base = tf.tidy(() => xPredictionLoss(o.base!, x, xt, draw.t).mean().dataSync()[0]);
    const cos = tf.tidy(() => {
      const u = (v: Tensor) => v.div(v.norm('euclidean', -1, true));
      return u(o.repa!).mul(u(target)).sum(-1).mean().neg().dataSync()[0];
    });
    const got = terms.loss.dataSync()[0];
    assert.ok(Math.abs(got - (full + base + 0.5 * cos)) < 1e-4 * Math.max(1, got), `${got} vs ${full + base + 0.5 * cos}`);
    assert.ok(Math.abs(terms.parts.base.dataSync()[0] - base) < 1e-4 * Math.max(1, base));
    tf.dispose([terms.loss, ...Object.values(terms.parts), xt, o.full, o.base!, o.repa!]);
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    // gradients through the whole model on this backend (wasm lacks some gradient kernels)
    const log: Record<string, number> = {};
    const { value, grads } = valueAndGrads(() => lossForGrads(flowMatchingLoss(model, x, { labels }, draw, cfg, { repaTarget: target }), log), model.namedParameters());
    assert.ok(Number.isFinite(value) && value > 0);
    assert.deepEqual(Object.keys(log).sort(), ['base', 'full', 'repa']);
    const trainable = model.namedParameters().filter(([, v]) => v.trainable).map(([k]) => k);
    assert.deepEqual([...grads.keys()].sort(), trainable.sort());
    for (const [k, g] of grads) assert.ok(tf.tidy(() => g.isFinite().all().dataSync()[0]) === 1, k);
    for (const g of grads.values()) g.dispose();
    assert.equal(tf.memory().numTensors, before, 'tensor leak (grads)');
    tf.dispose([x, labels, draw.t, draw.noise, target]);
    model.dispose();
  });
}

test('RAE v1 loss is the velocity MSE; a prediction mismatch between model and transport is refused', async () => {
  await useBackend('cpu');
  const model = createDiT({ arch: 'rae', ...tiny }, 2);
  for (const [, v] of model.namedParameters()) v.assign(tf.tidy(() => tf.randomNormal(v.shape, 0, 0.2, 'float32', 5)));
  const rng = new Rng(1);
  const x = rng.randn([2, 4, 4]), labels = tf.tensor1d([1, 3], 'int32');
  const cfg = raeTransport(2);
  const draw = drawTraining(rng, x.shape, cfg);
  const terms = flowMatchingLoss(model, x, { labels }, draw, cfg);
  const xt = interpolate(x, draw.noise, draw.t);
  const o = model.forward(xt, draw.t, { labels });
  const want = tf.tidy(() => o.full.sub(draw.noise.sub(x)).square().mean().dataSync()[0]);
  assert.ok(Math.abs(terms.loss.dataSync()[0] - want) < 1e-5);
  assert.throws(() => flowMatchingLoss(model, x, { labels }, draw, raev2Transport(2)), /expects x-prediction but the model predicts velocity/);
  tf.dispose([x, labels, draw.t, draw.noise, terms.loss, xt, o.full]);
  model.dispose();
});

test('time sampling: seeded; uniform on [0, tMax] and logit-normal, then shifted (distribution checks)', async () => {
  await useBackend('cpu');
  const n = 20000;
  const draw = (dist: Parameters<typeof sampleTimes>[2]) => tf.tidy(() => Array.from(sampleTimes(new Rng(5), n, dist).dataSync()));
  const uni = draw({ type: 'uniform', tMax: 0.999, shift: 1 });
  assert.ok(Math.max(...uni) <= 0.999 && Math.min(...uni) >= 0);
  assert.ok(Math.abs(uni.reduce((a, b) => a + b, 0) / n - 0.4995) < 0.01);
  const cfg = raev2Transport(3);
  const ln = draw(timeDistribution(cfg));
  const again = draw(timeDistribution(cfg));
  assert.deepEqual(Array.from(ln.slice(0, 10)), Array.from(again.slice(0, 10)));
  // logit-normal(0, 1) median is 0.5; shifted median = shift(0.5) = 0.75 for s = 3
  const sorted = ln.slice().sort((a, b) => a - b);
  assert.ok(Math.abs(sorted[n / 2] - shiftTime(0.5, 3)) < 0.01, `median ${sorted[n / 2]}`);
  assert.throws(() => parseTransportConfig({ prediction: 'x', timeDist: 'beta', shift: 1 }), /timeDist/);
});

test('label / condition dropout: seeded, rate p, to the null class or the null condition', async () => {
  await useBackend('cpu');
  const n = 4000;
  const labels = Array.from({ length: n }, (_, i) => i % 7);
  const a = dropLabels(labels, 0.1, 1000, new Rng(8)).dataSync();
  const b = dropLabels(labels, 0.1, 1000, new Rng(8)).dataSync();
  assert.deepEqual(Array.from(a), Array.from(b));
  const dropped = Array.from(a).filter((v) => v === 1000).length;
  assert.ok(Math.abs(dropped / n - 0.1) < 0.02, `rate ${dropped / n}`);
  assert.ok(Array.from(a).every((v, i) => v === 1000 || v === labels[i]));
  const tokens = tf.ones([3, 2, 2]), nul = tf.zeros([3, 2, 2]), mask = tf.tensor2d([[1, 0], [1, 0], [1, 0]]);
  const c = dropCondition({ tokens, mask }, { tokens: nul }, 1, new Rng(0));
  assert.equal(c.tokens!.sum().dataSync()[0], 0);
  assert.equal(c.mask!.sum().dataSync()[0], 6, 'dropped rows use the null condition unmasked');
  const k = dropCondition({ tokens, mask }, { tokens: nul }, 0, new Rng(0));
  assert.equal(k.tokens!.sum().dataSync()[0], 12);
});
