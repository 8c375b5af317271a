import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  tf, Rng, createDiT, raev2Transport, drawTraining, flowMatchingLoss, lossForGrads, valueAndGrads, AdamW, clipGradNorm,
  sample, flowGrid, modelDenoiser, withGuidance, dropLabels,
} from '@raev2/core';
import { useBackend } from '../../helpers/fixtures.js';

test('a tiny RAEv2 DiT overfits 4 latent points and sampling reproduces them (AdamW, wasm)', async () => {
  await useBackend('wasm');
  const before = tf.memory().numTensors;
  const rng = new Rng(0);
  // 4 class-labelled latents on a 2×2 grid with 4 channels
  const points = rng.randn([4, 4, 4]);
  const model = createDiT({ arch: 'raev2', inputSize: 2, inChannels: 4, hiddenSize: [32, 32], depth: [2, 1], numHeads: [2, 2], numClasses: 4, baseDepth: 1 }, 1);
  // shift 1 and a batch of 16: the v-space loss weighs small t by up to 1/0.05², so t ≈ 1 (where sampling
  // starts) is learnt slowly; smaller batches or uniform t left x̂(t≈1) wrong after 300 steps and samples drifted
  const cfg = raev2Transport(1);
  const opt = new AdamW(model.namedParameters(), { lr: 1e-2, betas: [0.9, 0.95], weightDecay: 0 });
  const rep = 4;
  const x = tf.tidy(() => tf.concat(Array(rep).fill(points), 0)); // [16, 4, 4]
  const labels = Array.from({ length: 4 * rep }, (_, i) => i % 4);
  const t0 = Date.now();
  const losses: number[] = [];
  const steps = 300, lr0 = opt.lr;
  for (let step = 0; step < steps; step++) {
    opt.lr = 1e-4 + 0.5 * (lr0 - 1e-4) * (1 + Math.cos((Math.PI * step) / steps)); // cosine decay: a quiet finish
    const draw = drawTraining(rng, x.shape, cfg);
    const y = dropLabels(labels, 0.1, 4, rng);
    const { value, grads } = valueAndGrads(() => lossForGrads(flowMatchingLoss(model, x, { labels: y }, draw, cfg)), model.namedParameters());
    clipGradNorm(grads, 1);
    opt.step(grads);
    for (const g of grads.values()) g.dispose();
    tf.dispose([draw.t, draw.noise, y]);
    losses.push(value);
  }
  const head = losses.slice(0, 20).reduce((a, b) => a + b) / 20, tail = losses.slice(-20).reduce((a, b) => a + b) / 20;
  const den = modelDenoiser(model);
  const cond = { labels: tf.tensor1d([0, 1, 2, 3], 'int32') };
  const grid = flowGrid(10, 1);
  const plain = sample(den, [4, 4, 4], new Rng(42), { grid, cond, prediction: 'x' });
  const guided = sample(withGuidance(den, { method: 'free', freeScale: 1.5 }), [4, 4, 4], new Rng(42), { grid, cond, prediction: 'x' });
  const err = (s: tf.Tensor) => tf.tidy(() => s.sub(points).abs().max().dataSync()[0]);
  const spread = tf.tidy(() => points.abs().max().dataSync()[0]);
  console.log(`  loss ${head.toFixed(3)} → ${tail.toFixed(4)} in ${losses.length} steps (${((Date.now() - t0) / 1000).toFixed(1)} s); sample max err ${err(plain).toFixed(4)} (free guidance ${err(guided).toFixed(4)}), point scale ${spread.toFixed(2)}`);
  assert.ok(tail < head / 10, `loss did not fall enough: ${head} → ${tail}`);
  assert.ok(err(plain) < 0.1, `samples do not reproduce the points: ${err(plain)}`);
  assert.ok(err(guided) < 0.15, `free-guided samples drift: ${err(guided)}`);
  tf.dispose([points, x, cond.labels, plain, guided]);
  opt.dispose();
  model.dispose();
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
});
