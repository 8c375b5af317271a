/**
 * The generic Condition operations (concat / slice / select / batch / dispose) against hand-built
 * arrays, over core's fields and a task's own field; the condition-kind registry and the DiT
 * config's `condition` field (absent and legacy forms load as before, with the same weight names).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  tf, concatConditions, sliceCondition, selectCondition, conditionBatch, disposeCondition, conditionFields,
  registerConditionKind, conditionKinds, createDiT, parseDiTConfig, Module, Linear, type Condition, type ConditionEmbedder, type Tensor,
} from '@raev2/core';
import { z } from 'zod';
import { useBackend } from '../../helpers/fixtures.js';

const arr = (t: Tensor | undefined) => Array.from(t!.dataSync());

test('concatConditions / sliceCondition / conditionBatch over labels, tokens + mask and a task field, against hand-built arrays', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const a: Condition = { labels: tf.tensor1d([1, 2], 'float32'), tokens: tf.tensor3d([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]), mask: tf.tensor2d([[1, 0], [1, 1]]), action: tf.tensor2d([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]) };
  const b: Condition = { labels: tf.tensor1d([9], 'int32'), tokens: tf.tensor3d([[[-1, -2], [-3, -4]]]), action: tf.tensor2d([[7, 8, 9]]) }; // no mask: all ones
  const c = concatConditions(a, b);
  assert.deepEqual(conditionFields(c), ['action', 'labels', 'mask', 'tokens']);
  assert.equal(c.labels!.dtype, 'int32');
  assert.deepEqual(arr(c.labels), [1, 2, 9]);
  assert.deepEqual(c.tokens!.shape, [3, 2, 2]);
  assert.deepEqual(arr(c.tokens), [1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4]);
  assert.deepEqual(arr(c.mask), [1, 0, 1, 1, 1, 1]);
  assert.deepEqual(arr(c.action).map((v) => Math.round(v * 10) / 10), [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 7, 8, 9]);
  assert.equal(conditionBatch(c), 3);
  const s = sliceCondition(c, 1, 2);
  assert.deepEqual(arr(s.labels), [2, 9]);
  assert.deepEqual(arr(s.tokens), [5, 6, 7, 8, -1, -2, -3, -4]);
  assert.deepEqual(arr(s.mask), [1, 1, 1, 1]);
  assert.deepEqual(s.action!.shape, [2, 3]);
  // errors name the field
  const onlyLabels = { labels: tf.tensor1d([0], 'int32') };
  assert.throws(() => concatConditions(a, onlyLabels), /field "action" is given on one side only/);
  const longer = { tokens: tf.zeros([1, 3, 2]) };
  assert.throws(() => concatConditions({ tokens: a.tokens }, longer), /"tokens" has row shape \[2,2\] on one side and \[3,2\].*pad them/);
  const bad = { labels: tf.tensor1d([0, 1], 'int32'), action: tf.zeros([3, 3]) };
  assert.throws(() => conditionBatch(bad), /"action" has 3 rows, "labels" has 2/);
  assert.equal(conditionBatch({}), 0);
  for (const x of [a, b, c, s, bad, longer, onlyLabels]) disposeCondition(x as Condition);
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
});

test('selectCondition: row-wise cond or null (boolean[] or tensor keep), a missing mask counts as ones, against hand-built arrays', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const cond: Condition = { tokens: tf.tensor3d([[[1], [2]], [[3], [4]], [[5], [6]]]), mask: tf.tensor2d([[1, 0], [1, 1], [0, 1]]), frames: tf.tensor3d([[[1, 1]], [[2, 2]], [[3, 3]]]) };
  const nul: Condition = { tokens: tf.zeros([3, 2, 1]), frames: tf.fill([3, 1, 2], -1) }; // the null condition keeps every (null) token
  const out = selectCondition([true, false, true], cond, nul);
  assert.deepEqual(arr(out.tokens), [1, 2, 0, 0, 5, 6]);
  assert.deepEqual(arr(out.mask), [1, 0, 1, 1, 0, 1]);
  assert.deepEqual(arr(out.frames), [1, 1, -1, -1, 3, 3]);
  const keep = tf.tensor1d([0, 1, 0], 'int32');
  const out2 = selectCondition(keep, cond, nul);
  assert.deepEqual(arr(out2.tokens), [0, 0, 3, 4, 0, 0]);
  assert.deepEqual(arr(out2.mask), [1, 1, 1, 1, 1, 1]);
  const [l1, l0] = [{ labels: tf.tensor1d([3, 4], 'int32') }, { labels: tf.fill([2], 10, 'int32') }];
  const labels = selectCondition([false, true], l1, l0);
  assert.deepEqual(arr(labels.labels), [10, 4]);
  assert.equal(labels.labels!.dtype, 'int32');
  assert.throws(() => selectCondition([true, false], cond, nul), /keep has shape \[2\], the condition has 3 rows/);
  const noFrames = { tokens: tf.zeros([3, 2, 1]) };
  assert.throws(() => selectCondition([true, true, true], cond, noFrames), /"frames" is given on one side only/);
  for (const x of [cond, nul, out, out2, labels, noFrames, l1, l0]) disposeCondition(x);
  keep.dispose();
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
});

test('condition kinds: class (absent and legacy forms) keeps the weight names; tokens; a custom kind; unknown kinds are refused by name', async () => {
  await useBackend('cpu');
  const base = { arch: 'raev2' as const, inputSize: 2, inChannels: 4, hiddenSize: [16, 16] as [number, number], depth: [2, 1] as [number, number], numHeads: [2, 2] as [number, number], numCondTokens: 3, baseDepth: 1 };
  const absent = parseDiTConfig({ ...base, numClasses: 5 });
  assert.deepEqual(absent.arch === 'raev2' && absent.condition, { kind: 'class', numClasses: 5 });
  const legacy = parseDiTConfig({ ...base, numClasses: 5, condition: { type: 'label' } });
  assert.deepEqual(legacy, absent);
  const legacyTok = parseDiTConfig({ ...base, condition: { type: 'tokens', contextDim: 6 } });
  assert.deepEqual(legacyTok.arch === 'raev2' && legacyTok.condition, { kind: 'tokens', dim: 6 });
  const m = createDiT(absent);
  const names = m.namedParameters().map(([n]) => n).filter((n) => n.startsWith('ctx_embedder.'));
  assert.deepEqual(names.sort(), ['ctx_embedder.embedding_table.weight', 'ctx_embedder.learnable_tokens']);
  assert.deepEqual(m.namedParameters().find(([n]) => n === 'ctx_embedder.embedding_table.weight')![1].shape, [6, 16], 'numClasses + null row');
  const nc = m.nullCondition(2);
  assert.deepEqual(arr(nc.labels), [5, 5]);
  disposeCondition(nc);
  m.dispose();
  const tm = createDiT(legacyTok);
  assert.deepEqual(tm.namedParameters().map(([n]) => n).filter((n) => n.startsWith('ctx_embedder.')).sort(), ['ctx_embedder.norm.weight', 'ctx_embedder.proj.bias', 'ctx_embedder.proj.weight']);
  assert.throws(() => tm.nullCondition(1), /"tokens"-conditioned model: its null condition comes from the condition's provider/);
  tm.dispose();

  // a task's own kind: action [B, 3] → one token
  class ActionEmbedder extends Module implements ConditionEmbedder {
    readonly proj: Linear;
    constructor(readonly dim: number, width: number) {
      super();
      this.proj = this.child('proj', new Linear(width, dim));
    }
    embed(cond: Condition) {
      if (cond.action == null) throw new Error('pass cond.action');
      return { tokens: tf.tidy(() => this.proj.forward(cond.action!).expandDims(1)) };
    }
  }
  registerConditionKind('test-action', { schema: z.object({ kind: z.literal('test-action'), width: z.number().int().positive().default(3) }).strict(), create: (p, dim) => new ActionEmbedder(dim, p.width) });
  assert.ok(conditionKinds().includes('test-action'));
  const ac = parseDiTConfig({ ...base, condition: { kind: 'test-action' } });
  assert.deepEqual(ac.arch === 'raev2' && ac.condition, { kind: 'test-action', width: 3 }, 'the kind schema\'s defaults apply');
  const am = createDiT(ac);
  const x = tf.randomNormal([2, 4, 4]), t = tf.tensor1d([0.3, 0.8]), action = tf.tensor2d([[1, 0, 0], [0, 1, 0]]);
  const o = am.forward(x, t, { action });
  assert.deepEqual(o.full.shape, [2, 4, 4]);
  tf.dispose([x, t, action, o.full, o.base!]);
  am.dispose();
  assert.throws(() => parseDiTConfig({ ...base, condition: { kind: 'test-action', width: 0 } }), /condition\.width/);
  assert.throws(() => parseDiTConfig({ ...base, condition: { kind: 'text-t5' } }), /condition\.kind: unknown condition kind "text-t5" \(registered: class, tokens, test-action/);
  assert.throws(() => parseDiTConfig({ ...base, condition: { kind: 'tokens' } }), /condition\.dim/);
  assert.throws(() => parseDiTConfig({ ...base, numClasses: 5, condition: { kind: 'class', numClasses: 7 } }), /condition\.numClasses: 7 differs from numClasses 5/);
  assert.equal(parseDiTConfig({ ...base, condition: { kind: 'class', numClasses: 7 } }).numClasses, 7, 'numClasses follows the condition when only it is given');
});
