/**
 * The generic stage-2 loop (`trainDiffusion`) with conditions other than class labels: a 'tokens'
 * condition (tokens + padding mask, null = zero tokens) and a condition kind registered by the
 * test (an action vector → one token). Each trains a few steps; the flow-matching loss on a fixed
 * held batch with fixed (t, ε) falls from the initial weights to the trained ones, and CFG dropout
 * asks the source for its null condition every step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import {
  tf, Rng, Module, Linear, trainDiffusion, planDiffusion, DiffusionTrainConfigSchema, registerConditionKind, createDiT, loadStage2Model,
  flowMatchingLoss, drawTraining, disposeCondition, sliceCondition,
  type Condition, type ConditionEmbedder, type ConditionedLatents, type DiTModel, type Tensor,
} from '@raev2/core';
import { useBackend } from '../../helpers/fixtures.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-diffusion-'));
const N = 24, GRID: [number, number] = [2, 2], C = 4;

/** A source of N examples whose latent is a fixed function of its condition (so the condition is learnable). */
function source(condition: ConditionedLatents['condition'], all: Condition, latents: Tensor, nullCondition: (b: number) => Condition, calls: { null: number }): ConditionedLatents {
  return {
    size: N,
    condition,
    grid: GRID,
    channels: C,
    batch: (idx) => {
      const i = tf.tensor1d(idx, 'int32');
      const cond: Condition = {};
      for (const [k, v] of Object.entries(all)) cond[k] = tf.gather(v!, i);
      const x = tf.gather(latents, i);
      i.dispose();
      return { x, cond };
    },
    nullCondition: (b) => {
      calls.null++;
      return nullCondition(b);
    },
  };
}

function config(out: string) {
  return DiffusionTrainConfigSchema.parse({
    out, steps: 40, batchSize: 8, seed: 3, checkpointEvery: 1000, logEvery: 10, conditionDropout: 0.1, ema: 0, emaWarmup: false, gradClip: null,
    model: { preset: 'tiny', hiddenSize: [32, 32], depth: [2, 1], numHeads: [2, 2], baseDepth: 1, numCondTokens: 2 },
    transport: { shift: 1 },
    optimizer: { lr: 3e-3 },
  });
}

/** Loss of `model` on the first 16 examples with fixed draws (t, ε from a fixed seed); `shuffle` pairs each latent with another example's condition. */
function heldLoss(model: DiTModel, src: ConditionedLatents, plan: ReturnType<typeof planDiffusion>, shuffle = false): number {
  const idx = Array.from({ length: 16 }, (_, i) => i);
  const { x, cond: own } = src.batch(idx, new Rng(0));
  disposeCondition(own);
  const other = src.batch(shuffle ? idx.map((i) => (i + 5) % 16) : idx, new Rng(0));
  other.x.dispose();
  const cond = other.cond;
  const draw = drawTraining(new Rng(42), x.shape, plan.transport);
  const l = tf.tidy(() => flowMatchingLoss(model, x, cond, draw, plan.transport).loss.dataSync()[0]);
  tf.dispose([x, draw.t, draw.noise]);
  disposeCondition(cond);
  return l;
}

async function trainAndScore(src: ConditionedLatents, out: string) {
  const cfg = config(out);
  const plan = planDiffusion(cfg, src);
  const initial = createDiT(plan.dit, cfg.seed);
  const before = heldLoss(initial, src, plan);
  initial.dispose();
  const losses: number[] = [];
  const r = await trainDiffusion(cfg, src, { handleSignals: false, onLog: (l) => losses.push((l as unknown as { loss: number }).loss) });
  assert.equal(r.step, 40);
  assert.ok(r.checkpoint, 'a final checkpoint');
  const trained = loadStage2Model(r.checkpoint!, plan.dit, { ema: false });
  const after = heldLoss(trained, src, plan);
  const mismatched = heldLoss(trained, src, plan, true);
  trained.dispose();
  return { before, after, mismatched, losses, plan };
}

test('trainDiffusion with a tokens condition (tokens + padding mask, null = zero tokens): the loss falls', async (t) => {
  await useBackend('wasm');
  const rng = new Rng(1);
  const L = 3, D = 5;
  const tokens = rng.randn([N, L, D]);
  const lens = Array.from({ length: N }, (_, i) => 1 + (i % L));
  const mask = tf.tensor2d(lens.map((n) => Array.from({ length: L }, (_, j) => (j < n ? 1 : 0))));
  // latent: a projection of the kept tokens' mean, broadcast over the grid
  const latents = tf.tidy(() => {
    const m = tokens.mul(mask.expandDims(2)).sum(1).div(mask.sum(1, true)); // [N, D]
    const w = new Rng(2).randn([D, C]);
    return tf.tanh(m.matMul(w)).expandDims(1).tile([1, GRID[0] * GRID[1], 1]).mul(1.5);
  });
  const calls = { null: 0 };
  const before0 = tf.memory().numTensors;
  const src = source({ kind: 'tokens', dim: D }, { tokens, mask }, latents, (b) => ({ tokens: tf.zeros([b, L, D]), mask: tf.ones([b, L]) }), calls);
  const r = await trainAndScore(src, tmp());
  t.diagnostic(`held-batch loss ${r.before.toFixed(4)} → ${r.after.toFixed(4)} after 40 steps (${r.mismatched.toFixed(4)} with mismatched conditions); logged ${r.losses.map((l) => l.toFixed(3)).join(', ')}`);
  assert.equal(r.plan.dit.arch === 'raev2' && r.plan.dit.condition.kind, 'tokens');
  assert.equal(calls.null, 40, 'the null condition comes from the source, once per step');
  assert.ok(r.mismatched > 1.2 * r.after, `the model uses its condition: ${r.after.toFixed(4)} vs ${r.mismatched.toFixed(4)} with mismatched tokens`);
  assert.ok(r.after < 0.6 * r.before, `held loss ${r.before.toFixed(4)} → ${r.after.toFixed(4)}`);
  assert.ok(r.losses.every(Number.isFinite) && r.losses.length === 4, `logged ${r.losses}`);
  assert.equal(tf.memory().numTensors, before0, 'tensor leak');
  tf.dispose([tokens, mask, latents]);
});

/** A task's own condition: an action [B, 3] → one in-context token through Linear(3 → D). */
class ActionEmbedder extends Module implements ConditionEmbedder {
  readonly proj: Linear;
  constructor(dim: number, rng?: Rng) {
    super();
    this.proj = this.child('proj', new Linear(3, dim, { rng }));
  }
  embed(cond: Condition) {
    if (cond.action == null) throw new Error('pass cond.action [B, 3]');
    return { tokens: tf.tidy(() => this.proj.forward(cond.action!).expandDims(1)) };
  }
}
registerConditionKind('test-move', { schema: z.object({ kind: z.literal('test-move') }).strict(), create: (_p, dim, rng) => new ActionEmbedder(dim, rng) });

test('trainDiffusion with a condition kind registered outside core (action → token): the loss falls', async (t) => {
  await useBackend('wasm');
  const action = new Rng(4).randn([N, 3]);
  const latents = tf.tidy(() => tf.sin(action.matMul(new Rng(5).randn([3, C])).mul(2)).expandDims(1).tile([1, GRID[0] * GRID[1], 1]).mul(1.5));
  const calls = { null: 0 };
  const src = source({ kind: 'test-move' }, { action }, latents, (b) => ({ action: tf.zeros([b, 3]) }), calls);
  const r = await trainAndScore(src, tmp());
  t.diagnostic(`held-batch loss ${r.before.toFixed(4)} → ${r.after.toFixed(4)} after 40 steps (${r.mismatched.toFixed(4)} with mismatched conditions); logged ${r.losses.map((l) => l.toFixed(3)).join(', ')}`);
  assert.ok(r.after < 0.6 * r.before, `held loss ${r.before.toFixed(4)} → ${r.after.toFixed(4)}`);
  // the batch helper slices task fields like core's
  const s = sliceCondition({ action }, 2, 3);
  assert.deepEqual(s.action!.shape, [3, 3]);
  disposeCondition(s);
  tf.dispose([action, latents]);
});
