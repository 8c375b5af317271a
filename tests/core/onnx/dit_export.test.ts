/**
 * DiT^DH exported with core's ONNX builder and run by onnxruntime must match the tfjs forward
 * (the cpu backend, our oracle) within 1e-4: RAEv2 with class tokens and the base head, RAEv2 with
 * masked token conditions and 2×2 patches, RAE v1 (adaLN-Zero, qk-norm, sin-cos positions). All
 * weights are random (the zero-initialised heads would make the comparison vacuous). Then the ORT
 * denoiser inside the samplers: free-guided and CFG sampling equal the tfjs model's samples.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  tf, Rng, initRuntime, createDiT, buildDiTOnnx, ditOnnxSignature, ortDenoiser, modelDenoiser, withGuidance, sample, flowGrid,
  SyncOrtSession, ortTensor, type DiTModel, type Condition, type GuidanceConfigInput,
} from '@raev2/core';
import { maxAbsDiff } from '../../helpers/fixtures.js';
import { randomize } from './random.js';

before(async () => {
  await initRuntime({ backend: 'cpu', log: false });
});

const CASES = {
  'RAEv2, class condition, base head': { arch: 'raev2', inputSize: 4, inChannels: 8, hiddenSize: [32, 48], depth: [3, 1], numHeads: [2, 2], baseDepth: 2, numClasses: 5, numTimeTokens: 2, numCondTokens: 3 },
  'RAEv2, masked token condition, 2×2 patches': { arch: 'raev2', inputSize: [4, 2], inChannels: 8, hiddenSize: [32, 32], depth: [2, 1], numHeads: [2, 2], baseDepth: 1, condition: { type: 'tokens', contextDim: 12 }, numTimeTokens: 2, patchSize: [2, 2] },
  'RAE v1 (adaLN-Zero, qk-norm)': { arch: 'rae', inputSize: 4, inChannels: 8, hiddenSize: [32, 48], depth: [2, 1], numHeads: [2, 2], numClasses: 5, qkNorm: true },
} as const;

function condition(model: DiTModel, b: number, rng: Rng): Condition {
  if (ditOnnxSignature(model).condition === 'tokens') {
    const mask = [1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0].slice(0, 5 * b);
    return { tokens: rng.randn([b, 5, 12]), mask: tf.tensor2d(mask, [b, 5]) };
  }
  return { labels: tf.tensor1d([0, 5, 2].slice(0, b), 'int32') }; // 5 = the null class
}

for (const [name, cfg] of Object.entries(CASES)) {
  test(`ONNX DiT^DH equals the tfjs forward: ${name}`, (t) => {
    const model = createDiT(cfg as never, 1).eval();
    randomize(model, 2);
    const rng = new Rng(3);
    const [gh, gw] = model.grid;
    const x = rng.randn([3, gh * gw, 8]);
    const tt = tf.tensor1d([0.05, 0.5, 0.97]);
    const cond = condition(model, 3, rng);
    const ref = model.forward(x, tt, cond);
    const session = SyncOrtSession.create(buildDiTOnnx(model), { threads: 1 });
    const feeds: Record<string, ReturnType<typeof ortTensor>> = { x: ortTensor('float32', x.dataSync() as Float32Array, x.shape), t: ortTensor('float32', tt.dataSync() as Float32Array, [3]) };
    if (cond.labels) feeds.labels = ortTensor('int32', cond.labels.dataSync() as Int32Array, [3]);
    else {
      feeds.tokens = ortTensor('float32', cond.tokens!.dataSync() as Float32Array, cond.tokens!.shape);
      feeds.mask = ortTensor('float32', cond.mask!.dataSync() as Float32Array, cond.mask!.shape);
    }
    const out = session.run(feeds);
    session.release();
    const scale = Math.max(...(ref.full.abs().max().dataSync() as Float32Array));
    assert.ok(scale > 0.1, `the reference output is nearly zero (${scale}): the test would be vacuous`);
    const dFull = maxAbsDiff(out.get('full')!.data, ref.full);
    t.diagnostic(`full: max abs diff ${dFull.toExponential(2)} (max |out| ${scale.toFixed(2)})`);
    assert.ok(dFull <= 1e-4, `full: ${dFull}`);
    assert.deepEqual(out.get('full')!.dims, ref.full.shape);
    if (cfg.arch === 'raev2') {
      const dBase = maxAbsDiff(out.get('base')!.data, ref.base!);
      t.diagnostic(`base: max abs diff ${dBase.toExponential(2)}`);
      assert.ok(dBase <= 1e-4, `base: ${dBase}`);
    } else {
      assert.equal(out.has('base'), false);
    }
    tf.dispose([x, tt, ref.full, ref.base, ...Object.values(cond)].filter((v) => v != null) as tf.Tensor[]);
    model.dispose();
  });
}

test('ORT denoiser inside the samplers: free guidance and CFG samples equal the tfjs model, no leaks', (t) => {
  const model = createDiT(CASES['RAEv2, class condition, base head'] as never, 4).eval();
  randomize(model, 5);
  const ort = ortDenoiser(model, { threads: 1 });
  assert.equal(ort.provider, 'cpu');
  const cond = { labels: tf.tensor1d([1, 3], 'int32') };
  const grid = flowGrid(4, 2);
  const before = tf.memory().numTensors;
  const guides: GuidanceConfigInput[] = [{ method: 'free', freeScale: 1.78, freeInterval: [0.1, 1] }, { method: 'cfg', cfgScale: 2 }];
  for (const g of guides) {
    const run = (d: typeof ort.denoiser) => sample(withGuidance(d, g, { nullCond: (b) => model.nullCondition(b) }), [2, 16, 8], new Rng(9), { grid, cond, prediction: 'x' });
    const a = run(ort.denoiser), b = run(modelDenoiser(model));
    const d = maxAbsDiff(a, b);
    t.diagnostic(`${g.method}: max abs diff of 4-step samples ${d.toExponential(2)}`);
    assert.ok(d <= 1e-4, `${g.method}: ${d}`);
    tf.dispose([a, b]);
  }
  assert.equal(tf.memory().numTensors, before, 'sampling through the ORT denoiser leaked tensors');
  assert.throws(() => ort.denoiser(tf.zeros([1, 3, 8]), tf.zeros([1]), cond), /tokens \[B, 16, 8\]/);
  assert.throws(() => ort.denoiser(tf.zeros([1, 16, 8]), tf.zeros([1]), {}), /cond\.labels/);
  ort.release();
  cond.labels.dispose();
  model.dispose();
});
