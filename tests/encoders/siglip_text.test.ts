import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '@raev2/core';
import { loadSiglipTextModel, disposeTextOutput } from '@raev2/encoders';
import { fixtureDir, loadIO, maxAbsDiff, testBackends, useBackend } from '../helpers/fixtures.js';

const ATOL = 1e-4;

// SigLIP and SigLIP-2 share the text tower; both fixtures run through the same SiglipTextModel.
for (const family of ['siglip_text', 'siglip2_text']) {
  for (const backend of testBackends()) {
    test(`${family} fixture: hidden states, last_hidden_state, pooler_output and masked.* match HF (${backend})`, async () => {
      await useBackend(backend);
      const io = loadIO(family);
      const before = tf.memory().numTensors;
      const model = loadSiglipTextModel(fixtureDir(family));
      const ids = io.get('input_ids_int32')!;
      // main outputs: no attention mask (pad tokens attended, last position pooled)
      const out = model.forward(ids);
      const diffs: Record<string, number> = {};
      assert.equal(out.hiddenStates.length, 3);
      out.hiddenStates.forEach((h, i) => (diffs[`hidden_states.${i}`] = maxAbsDiff(h, io.get(`hidden_states.${i}`)!)));
      diffs.last_hidden_state = maxAbsDiff(out.lastHiddenState, io.get('last_hidden_state')!);
      diffs.pooler_output = maxAbsDiff(out.poolerOutput, io.get('pooler_output')!);
      const masked = model.forward(ids, io.get('attention_mask_int32')!);
      diffs['masked.last_hidden_state'] = maxAbsDiff(masked.lastHiddenState, io.get('masked.last_hidden_state')!);
      diffs['masked.pooler_output'] = maxAbsDiff(masked.poolerOutput, io.get('masked.pooler_output')!);
      console.log(`  [${family}/${backend}] max abs diffs: ${Object.entries(diffs).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
      for (const [k, v] of Object.entries(diffs)) assert.ok(v <= ATOL, `${k}: ${v} > ${ATOL}`);
      disposeTextOutput(out);
      disposeTextOutput(masked);
      model.dispose();
      assert.equal(tf.memory().numTensors, before, 'tensor leak');
      for (const t of io.values()) t.dispose();
    });
  }
}

test('siglip_text: the mask changes the output of the padded sample only', async () => {
  await useBackend('cpu');
  const io = loadIO('siglip_text');
  const model = loadSiglipTextModel(fixtureDir('siglip_text'));
  const ids = io.get('input_ids_int32')!;
  const a = model.forward(ids);
  const b = model.forward(ids, io.get('attention_mask_int32')!);
  // sample 0 has no padding: identical; sample 1 has 4 pads: its real tokens see fewer keys
  const row = (t: tf.Tensor, i: number) => tf.tidy(() => t.slice([i, 0, 0], [1, -1, -1]));
  const [a0, b0, a1, b1] = [row(a.lastHiddenState, 0), row(b.lastHiddenState, 0), row(a.lastHiddenState, 1), row(b.lastHiddenState, 1)];
  assert.ok(maxAbsDiff(a0, b0) < 1e-6);
  assert.ok(maxAbsDiff(a1, b1) > 1e-3);
  tf.dispose([a0, b0, a1, b1]);
  disposeTextOutput(a);
  disposeTextOutput(b);
  model.dispose();
  for (const t of io.values()) t.dispose();
});

test('siglip_text: bad inputs are clear errors', async () => {
  await useBackend('cpu');
  const model = loadSiglipTextModel(fixtureDir('siglip_text'));
  const tooLong = tf.zeros([1, 13], 'int32');
  assert.throws(() => model.forward(tooLong), /length 13 is outside 1…max_position_embeddings \(12\)/);
  const outOfVocab = tf.tensor2d([[2, 64]], [1, 2], 'int32');
  assert.throws(() => model.forward(outOfVocab), /id 64 outside the vocabulary \[0, 64\)/);
  const floats = tf.zeros([1, 4]);
  assert.throws(() => model.forward(floats), /must be int32/);
  const ids = tf.zeros([2, 4], 'int32');
  const badMask = tf.ones([2, 5], 'int32');
  assert.throws(() => model.forward(ids, badMask), /attention_mask must have the shape of input_ids/);
  tf.dispose([tooLong, outOfVocab, floats, ids, badMask]);
  assert.throws(() => loadSiglipTextModel(fixtureDir('siglip_vision')), /not a SigLIP text model/);
  model.dispose();
});
