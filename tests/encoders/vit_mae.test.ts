import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '@raev2/core';
import { loadHFEncoder, disposeViTOutput } from '@raev2/encoders';
import { checkFamilyAgainstFixture, loadFixtureModel } from './hf_fixture.js';
import { fixtureDir, loadIO, assertClose, testBackends, useBackend } from '../helpers/fixtures.js';

test('ViTMAEModel reproduces every HF output with the stored noise (shuffled patches, mask, ids_restore), also interpolated', async (t) => {
  const worst = await checkFamilyAgainstFixture('vit_mae', (io, prefix) => ({ noise: io.get(prefix ? 'noise_interp' : 'noise') }));
  t.diagnostic(`max abs diff per backend: ${JSON.stringify(worst)}`);
});

test('ViT-MAE as an encoder keeps the natural patch order: its states are the fixture states un-shuffled by ids_restore', async () => {
  const io = loadIO('vit_mae');
  const restore = io.get('ids_restore_int32')!.arraySync() as number[][];
  for (const backend of testBackends()) {
    await useBackend(backend);
    const enc = await loadHFEncoder(fixtureDir('vit_mae'));
    const before = tf.memory().numTensors;
    const out = enc.forward(io.get('pixel_values')!);
    for (let i = 0; i < out.hiddenStates.length; i++) {
      // layers after the embedding are permutation-equivariant, so un-shuffling HF's states gives natural order
      const h = io.get(`hidden_states.${i}`)!.arraySync() as number[][][];
      const expected = h.map((rows, b) => [rows[0], ...restore[b].map((s) => rows[1 + s])]);
      assertClose(out.hiddenStates[i], expected.flat(2), 1e-4, `${backend}: natural-order hidden_states.${i}`);
    }
    for (const t of out.hiddenStates) t.dispose();
    assert.equal(tf.memory().numTensors, before, 'encoder forward leaked');
    enc.dispose();
  }
  for (const t of io.values()) t.dispose();
});

test('ViT-MAE masking keeps ⌊N·(1 − ratio)⌋ patches chosen by argsort(noise)', async () => {
  const model = await loadFixtureModel('vit_mae');
  const io = loadIO('vit_mae');
  const out = model.forward(io.get('pixel_values')!, { noise: io.get('noise'), maskRatio: 0.75 });
  assert.deepEqual(out.hiddenStates[0].shape, [2, 1 + 4, 32]);
  const mask = out.extras.mask.dataSync();
  assert.equal(Array.from(mask).filter((v) => v === 1).length, 2 * 12);
  // kept patches are the 4 smallest noise values of each row
  const noise = io.get('noise')!.arraySync() as number[][];
  noise.forEach((row, r) => {
    const order = row.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]).map(([, i]) => i);
    for (let k = 0; k < 16; k++) assert.equal(mask[r * 16 + order[k]], k < 4 ? 0 : 1);
  });
  assert.throws(() => model.forward(io.get('pixel_values_interp')!), /interpolatePosEncoding/);
  disposeViTOutput(out);
  model.dispose();
  for (const t of io.values()) t.dispose();
});
