/**
 * generateLatents over any Condition: the configured t-clamp (transport.tEps) reaches the sampler
 * (float64 Euler by hand); a `denoiser` override replaces the network; CFG on a token-conditioned
 * DiT^DH (tokens + padding mask) equals x̂_null + w·(x̂_cond − x̂_null) from two separate forwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  tf, Rng, generateLatents, createDiT, cfgGuidance, modelDenoiser, disposeCondition, conditionBatch,
  type Condition, type Denoiser, type DiTModel, type Tensor,
} from '@raev2/core';
import { useBackend } from '../../helpers/fixtures.js';

/** Everything generateLatents reads of a model when a denoiser replaces its forward pass. */
function stubModel(): DiTModel {
  let training = false;
  return {
    grid: [1, 2], inChannels: 3, prediction: 'x',
    get training() { return training; },
    eval() { training = false; return this; },
    train(on = true) { training = on; return this; },
    nullCondition: (b: number) => ({ labels: tf.fill([b], 9, 'int32') }),
    forward: () => { throw new Error('the denoiser override must be used'); },
  } as unknown as DiTModel;
}

test('generateLatents: tEps reaches the sampler (x → v clamp), against a float64 Euler by hand; the denoiser override is what runs', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const half: Denoiser = (x) => ({ full: x.mul(0.5) }); // x̂ = x/2
  const model = stubModel();
  const cond: Condition = { labels: tf.tensor1d([0, 1], 'int32') };
  const n0 = new Rng(7).randn([2, 2, 3]);
  const noise = Array.from(n0.dataSync());
  n0.dispose();
  // grid flowGrid(2, 1) = [1, 0.5, 0]; v = (x − x̂)/max(t, tEps) = 0.5·x/max(t, tEps); x ← x + (t_next − t)·v
  const byHand = (tEps: number) => noise.map((x0) => {
    let x = x0;
    for (const [t, tn] of [[1, 0.5], [0.5, 0]]) x = x + (tn - t) * (0.5 * x) / Math.max(t, tEps);
    return x;
  });
  for (const tEps of [0.05, 0.6, undefined]) {
    const g = generateLatents(model, cond, { steps: 2, shift: 1, seed: 7, tEps, denoiser: half });
    const want = byHand(tEps ?? 0.05);
    const got = Array.from(g.latents.dataSync());
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `tEps ${tEps}: [${i}] ${v} vs ${want[i]}`));
    assert.equal(g.nfePerImage, 2);
    assert.equal(g.nfePerStep, 1);
    g.latents.dispose();
  }
  assert.ok(Math.abs(byHand(0.6)[0] - byHand(0.05)[0]) > 1e-3, 'the clamp changes the last step');
  disposeCondition(cond);
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
});

/** Every parameter of a fresh model redrawn (the zero-initialised output layers would make every prediction 0). */
function randomise(m: DiTModel, seed: number): void {
  const rng = new Rng(seed);
  for (const [, v] of m.namedParameters()) {
    const r = rng.randn(v.shape);
    v.assign(r.mul(0.3));
    r.dispose();
  }
}

test('CFG on a token-conditioned DiT^DH (tokens + mask; the null prompt has its own mask) equals the hand formula from two separate forwards', async () => {
  await useBackend('wasm');
  const model = createDiT({ arch: 'raev2', inputSize: [2, 2], inChannels: 4, hiddenSize: [16, 16], depth: [2, 1], numHeads: [2, 2], numCondTokens: 3, baseDepth: 1, condition: { kind: 'tokens', dim: 6 } });
  randomise(model, 11);
  model.eval();
  const before = tf.memory().numTensors;
  const rng = new Rng(3);
  const x = rng.randn([2, 4, 4]), t = tf.tensor1d([0.6, 0.3]);
  const cond: Condition = { tokens: rng.randn([2, 3, 6]), mask: tf.tensor2d([[1, 1, 0], [1, 0, 0]]) };
  const nullOf = (b: number): Condition => ({ tokens: tf.zeros([b, 3, 6]), mask: tf.tensor2d(Array.from({ length: b }, () => [1, 0, 0])) });
  const w = 2.5;
  const guided = cfgGuidance(modelDenoiser(model), { scale: w, nullCond: nullOf })(x, t, cond);
  const nul = nullOf(2);
  const c = model.forward(x, t, cond), u = model.forward(x, t, nul);
  const want = tf.tidy(() => u.full.add(c.full.sub(u.full).mul(w)));
  const diff = tf.tidy(() => guided.full.sub(want).abs().max().dataSync()[0]);
  const spread = tf.tidy(() => c.full.sub(u.full).abs().max().dataSync()[0]);
  assert.ok(spread > 1e-2, `the condition changes the prediction (${spread})`);
  assert.ok(diff < 1e-4, `CFG vs hand formula: max abs diff ${diff}`);
  // the padded token is masked: changing it changes nothing
  const edited: Condition = { tokens: tf.tidy(() => cond.tokens!.add(tf.tensor3d([[[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [5, 5, 5, 5, 5, 5]], [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]]))), mask: cond.mask!.clone() };
  const ge = cfgGuidance(modelDenoiser(model), { scale: w, nullCond: nullOf })(x, t, edited);
  assert.ok(tf.tidy(() => ge.full.sub(guided.full).abs().max().dataSync()[0]) < 1e-5, 'a masked token does not matter');
  tf.dispose([guided.full, ge.full, c.full, u.full, want] as Tensor[]);
  for (const o of [guided, ge, c, u]) o.base?.dispose();
  disposeCondition(nul);
  disposeCondition(edited);
  // through generateLatents, in batches of one (the condition is sliced per batch)
  const gen = generateLatents(model, cond, { steps: 2, shift: 1, seed: 0, batchSize: 1, guidance: { method: 'free+cfg', cfgScale: 1.5 }, nullCondition: nullOf });
  assert.deepEqual(gen.latents.shape, [2, 4, 4]);
  assert.equal(gen.nfePerImage, 4, 'free+cfg: 2 rows per image and step');
  assert.equal(conditionBatch(cond), 2, 'the caller keeps its condition');
  gen.latents.dispose();
  tf.dispose([x, t]);
  disposeCondition(cond);
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
  model.dispose();
});

test('sharedNoise: every row starts from one draw (rows differ only by their condition), across batches too; default rows draw their own', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  // x̂ = x/2 + label: the output is affine in the noise, so rows with equal noise differ by a label term only
  const byLabel: Denoiser = (x, _t, c) => ({ full: tf.tidy(() => x.mul(0.5).add((c as { labels: Tensor }).labels.toFloat().reshape([-1, 1, 1]))) });
  const model = stubModel();
  const labels = [0, 3, 0, 5, 0];
  const cond: Condition = { labels: tf.tensor1d(labels, 'int32') };
  const one = (label: number) => {
    const c: Condition = { labels: tf.tensor1d([label], 'int32') };
    const g = generateLatents(model, c, { steps: 3, shift: 1, seed: 11, denoiser: byLabel });
    const d = Array.from(g.latents.dataSync());
    g.latents.dispose();
    disposeCondition(c);
    return d;
  };
  for (const batchSize of [64, 2]) {
    const g = generateLatents(model, cond, { steps: 3, shift: 1, seed: 11, denoiser: byLabel, sharedNoise: true, batchSize });
    const d = Array.from(g.latents.dataSync());
    g.latents.dispose();
    labels.forEach((l, r) => {
      const want = one(l); // a batch of one row from the same seed: the shared draw
      want.forEach((v, i) => assert.ok(Math.abs(d[r * 6 + i] - v) < 1e-6, `batch ${batchSize}, row ${r}[${i}]: ${d[r * 6 + i]} vs ${v}`));
    });
  }
  const g = generateLatents(model, cond, { steps: 3, shift: 1, seed: 11, denoiser: byLabel });
  const d = Array.from(g.latents.dataSync());
  g.latents.dispose();
  assert.ok(d.slice(0, 6).some((v, i) => Math.abs(v - d[12 + i]) > 1e-3), 'without sharedNoise, rows 0 and 2 (same label) differ');
  disposeCondition(cond);
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
});
