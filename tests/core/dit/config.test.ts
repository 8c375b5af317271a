import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, parseDiTConfig, ditPreset, createDiT, DIT_SIZES, ditConfigFromUpstream } from '@raev2/core';
import { useBackend } from '../../helpers/fixtures.js';

const ok = { arch: 'raev2', inputSize: 4, inChannels: 16, hiddenSize: [32, 48], depth: [3, 2], numHeads: [2, 2], baseDepth: 2 } as const;

test('DiT config: bad shapes are rejected before any work, naming the field', () => {
  const bad = (patch: Record<string, unknown>, re: RegExp) => assert.throws(() => parseDiTConfig({ ...ok, ...patch }), re);
  bad({ hiddenSize: [8, 48] }, /hiddenSize\.0: body width 8 is smaller than the latent width per token 16/);
  bad({ baseDepth: 4 }, /baseDepth: base head depth 4 is beyond the body depth 3/);
  bad({ numHeads: [3, 2] }, /numHeads\.0: 3 heads do not divide width 32/);
  bad({ hiddenSize: [32, 40], numHeads: [2, 4] }, /numHeads\.1: head dim 10 .* divisible by 4/);
  bad({ inputSize: [4, 6], patchSize: [4, 1] }, /patchSize\.0: latent grid 4×6 is not divisible by patch size 4/);
  bad({ repa: { depth: 9, targetDim: 8 } }, /repa\.depth: REPA depth 9 is beyond the body depth 3/);
  bad({ depth: [0, 2] }, /depth\.0/);
  bad({ arch: 'dit' }, /arch/);
  assert.throws(() => parseDiTConfig({ ...ok, inChannels: -1 }, 'run.json'), /invalid run\.json:\n {2}inChannels/);
});

test('DiT presets: published XL sizes, tiny sizes that build, defaults per architecture', () => {
  const xl = ditPreset('XL', 'raev2', { inputSize: 16, inChannels: 1024, numClasses: 1000 });
  assert.equal(xl.arch, 'raev2');
  assert.deepEqual([xl.hiddenSize, xl.depth, xl.numHeads], [[1440, 2048], [28, 2], [20, 16]]);
  if (xl.arch === 'raev2') assert.deepEqual([xl.baseDepth, xl.numTimeTokens, xl.numCondTokens, xl.patchSize], [8, 4, 8, [1, 1]]);
  const v1 = ditPreset('XL', 'rae', { inputSize: 16, inChannels: 768 });
  assert.deepEqual([v1.hiddenSize, v1.depth, v1.numHeads], [[1152, 2048], [28, 2], [16, 16]]);
  assert.throws(() => ditPreset('tiny', 'raev2', { inputSize: 4, inChannels: 96 }), /smaller than the latent width/);
  assert.throws(() => ditPreset('huge' as 'XL', 'raev2', { inputSize: 4, inChannels: 8 }), /unknown DiT size "huge"/);
  for (const size of ['tiny', 'small', 'S', 'B', 'L', 'XL'] as const) assert.ok(DIT_SIZES[size]);
});

test('DiT models build at the tiny preset; parameter counts follow the published formula', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const m = createDiT(ditPreset('tiny', 'raev2', { inputSize: 4, inChannels: 8, numClasses: 5 }));
  const [d, dh] = [64, 96];
  const swiglu = (w: number) => { const h = Math.floor((2 / 3) * 4 * w); return 3 * w * h + 2 * h + w; };
  const attn = (w: number) => 4 * (w * w + w) + 2 * (w / 4);
  const body = 4 * (attn(d) + swiglu(d) + 2 * d);
  const head = 1 * (attn(dh) + swiglu(dh) + 2 * dh + dh * 6 * dh + 6 * dh);
  const extra = (8 * d + d) + (8 * dh + dh) + (d * dh + dh) + (512 * d + d + d * d + d + 4 * d) + (6 * d + 8 * d) + (dh + dh * 8 + 8 + dh * 2 * dh + 2 * dh) + (d + d * 8 + 8 + d * 2 * d + 2 * d);
  assert.equal(m.numParameters(), body + head + extra);
  m.dispose();
  const v1 = createDiT(ditPreset('tiny', 'rae', { inputSize: 4, inChannels: 8, numClasses: 5 }));
  assert.ok(v1.numParameters() > 0);
  v1.dispose();
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
});

test('upstream RAE options that are not implemented are refused by name', () => {
  assert.throws(() => ditConfigFromUpstream({ class: 'DiTwDDTHead', params: { input_size: 4, in_channels: 16, hidden_size: [32, 48], depth: [2, 2], num_heads: [2, 2], use_swiglu: false } }), /use_swiglu=false/);
});
