import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStage2Config, resolveDiTConfig, resolveShift, resolveTransport, resolveBaseDepth } from '@raev2/core';

const base = { data: 'emoji:google', out: '/tmp/never-written', stage1: 'runs/s1' };

test('stage-2 config: defaults are the published stage-2 settings (scaled model)', () => {
  const c = parseStage2Config(base);
  assert.equal(c.conditionDropout, 0.1);
  assert.deepEqual([c.optimizer.name, c.optimizer.lr, c.optimizer.betas, c.optimizer.weightDecay], ['adamw', 2e-4, [0.9, 0.95], 0]);
  assert.equal(c.gradClip, 1);
  assert.equal(c.ema, 0.9995);
  assert.equal(c.model.conditioning, 'in-context');
  assert.equal(c.transport.timeDist, 'logit-normal');
  assert.equal(resolveBaseDepth(c), 2, 'tiny preset: base head after block 2');
  // s = sqrt(N·C/4096): 16×16 tokens × 768 channels → √48
  assert.ok(Math.abs(resolveShift(c, { grid: [16, 16], channels: 768 }) - Math.sqrt(48)) < 1e-12);
  const dit = resolveDiTConfig(c, { grid: [7, 7], channels: 48 }, 10);
  assert.equal(dit.arch, 'raev2');
  assert.equal(dit.numClasses, 10);
  const tr = resolveTransport(c, { grid: [7, 7], channels: 48 }, 'x');
  assert.equal(tr.prediction, 'x');
  assert.equal(tr.baseWeight, 1);
});

test('stage-2 config: adaln + v-prediction builds the RAE v1 DiT and its transport', () => {
  const c = parseStage2Config({ ...base, model: { conditioning: 'adaln', prediction: 'v', baseDepth: 'none' }, transport: { timeDist: 'uniform' } });
  const dit = resolveDiTConfig(c, { grid: [4, 4], channels: 32 }, 3);
  assert.equal(dit.arch, 'rae');
  assert.equal(dit.prediction, 'velocity');
  const tr = resolveTransport(c, { grid: [4, 4], channels: 32 }, 'velocity');
  assert.equal(tr.tMax, 1 - 1 / 1000);
});

/** Assert `fn` throws a message matching every pattern. */
function rejects(fn: () => unknown, ...patterns: RegExp[]): void {
  let msg = '';
  try {
    fn();
  } catch (e) {
    msg = (e as Error).message;
  }
  assert.ok(msg, 'expected an error');
  for (const p of patterns) assert.match(msg, p);
}

test('stage-2 config: bad configs are rejected with messages naming the field', () => {
  rejects(() => parseStage2Config({ ...base, model: { baseDepth: 9 } }), /model\.baseDepth/, /beyond the body depth 4/);
  rejects(() => parseStage2Config({ ...base, samples: { guidance: { method: 'magic' } } }), /samples\.guidance\.method/);
  rejects(() => parseStage2Config({ ...base, model: { baseDepth: 'none' }, samples: { guidance: { method: 'free' } } }), /samples\.guidance\.method/, /base head/);
  rejects(() => parseStage2Config({ ...base, metrics: { guidance: { method: 'autoguidance' } } }), /metrics\.guidance\.method/, /--weak/);
  rejects(() => parseStage2Config({ data: 'x', out: 'y' }), /encoder: is required without `stage1`/, /stats: is required/);
  rejects(() => parseStage2Config({ ...base, model: { conditioning: 'adaln', baseDepth: 2 } }), /model\.baseDepth/, /in-context/);
  rejects(() => parseStage2Config({ ...base, model: { repa: { depth: 7 } } }), /model\.repa\.depth/);
  rejects(() => parseStage2Config({ ...base, batch: 3 }), /batch/, /[Uu]nrecognized/);
  rejects(() => parseStage2Config({ stage1: 'x', out: 'y' }), /data: is required/);
  // needs the latent: a body narrower than the latent channels
  const c = parseStage2Config({ ...base, model: { hiddenSize: [64, 96] } });
  rejects(() => resolveDiTConfig(c, { grid: [7, 7], channels: 96 }, 10), /hiddenSize\.0/, /body width 64 is smaller than the latent width per token 96/);
});
