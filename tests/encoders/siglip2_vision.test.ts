import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, type Tensor } from '@raev2/core';
import { loadSiglip2VisionModel, disposeVisionOutput } from '@raev2/encoders';
import { fixtureDir, loadIO, maxAbsDiff, testBackends, useBackend } from '../helpers/fixtures.js';

const ATOL = 1e-4;
const FAMILY = 'siglip2_vision';

/** Values at the real (mask = 1) rows of a [B, M, D] tensor, flattened. */
function realRows(x: Tensor, mask: number[][]): number[] {
  const rows = x.arraySync() as number[][][];
  return rows.flatMap((r, b) => r.filter((_, i) => mask[b][i] === 1)).flat();
}

for (const backend of testBackends()) {
  test(`siglip2_vision fixture: NaFlex hidden states, last_hidden_state and pooler_output match HF (${backend})`, async () => {
    await useBackend(backend);
    const io = loadIO(FAMILY);
    const before = tf.memory().numTensors;
    const model = loadSiglip2VisionModel(fixtureDir(FAMILY));
    const maskT = io.get('pixel_attention_mask')!;
    const mask = maskT.arraySync() as number[][];
    // spatial shapes [[4,4],[3,5],[2,7]]: the 4×4 position grid is resized per image (bilinear, antialias)
    const out = model.forward(io.get('pixel_values')!, io.get('spatial_shapes_int32')!, maskT);
    const diffs: Record<string, number> = {};
    const names = [...out.hiddenStates.map((_, i) => `hidden_states.${i}`), 'last_hidden_state'];
    [...out.hiddenStates, out.lastHiddenState].forEach((h, i) => {
      // Real rows are what the model means; padded rows are well defined too (they attend to real keys
      // and carry the first resized position), so every row must match HF, real rows alone included.
      diffs[names[i]] = maxAbsDiff(realRows(h, mask), realRows(io.get(names[i])!, mask));
      diffs[`${names[i]} (all rows)`] = maxAbsDiff(h, io.get(names[i])!);
    });
    diffs.pooler_output = maxAbsDiff(out.poolerOutput!, io.get('pooler_output')!);
    console.log(`  [${backend}] max abs diffs: ${Object.entries(diffs).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
    assert.equal(Object.keys(diffs).length, 2 * names.length + 1);
    for (const [k, v] of Object.entries(diffs)) assert.ok(v <= ATOL, `${k}: ${v} > ${ATOL}`);
    assert.deepEqual(out.grid, [4, 4]);
    disposeVisionOutput(out);
    // the mask derived from spatial_shapes equals the processor's mask
    const derived = model.forward(io.get('pixel_values')!, [[4, 4], [3, 5], [2, 7]]);
    assert.ok(maxAbsDiff(derived.poolerOutput!, io.get('pooler_output')!) <= ATOL);
    disposeVisionOutput(derived);
    model.dispose();
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    for (const t of io.values()) t.dispose();
  });
}

test('siglip2_vision: padded rows do not change the real outputs', async () => {
  await useBackend('cpu');
  const io = loadIO(FAMILY);
  const model = loadSiglip2VisionModel(fixtureDir(FAMILY));
  const px = io.get('pixel_values')!;
  const noisy = tf.tidy(() => {
    // replace the padding rows with large noise: masked keys must not leak into real rows
    const m = io.get('pixel_attention_mask')!.toFloat().expandDims(2);
    return px.mul(m).add(tf.randomNormal(px.shape, 0, 10, 'float32', 7).mul(tf.scalar(1).sub(m)));
  });
  const a = model.forward(px, [[4, 4], [3, 5], [2, 7]]);
  const b = model.forward(noisy, [[4, 4], [3, 5], [2, 7]]);
  assert.ok(maxAbsDiff(a.poolerOutput!, b.poolerOutput!) < 1e-5);
  const mask = io.get('pixel_attention_mask')!.arraySync() as number[][];
  assert.ok(maxAbsDiff(realRows(a.lastHiddenState, mask), realRows(b.lastHiddenState, mask)) < 1e-5);
  disposeVisionOutput(a);
  disposeVisionOutput(b);
  noisy.dispose();
  model.dispose();
  for (const t of io.values()) t.dispose();
});

test('siglip2_vision: inconsistent inputs are clear errors', async () => {
  await useBackend('cpu');
  const model = loadSiglip2VisionModel(fixtureDir(FAMILY));
  const px = tf.zeros([2, 16, 48]);
  assert.throws(() => model.forward(px, [[4, 4]]), /spatial_shapes has 1 entries for a batch of 2/);
  assert.throws(() => model.forward(px, [[4, 4], [3, 6]]), /needs 18 patches but pixel_values has 16 rows/);
  const wrongRow = tf.zeros([1, 16, 12]);
  assert.throws(() => model.forward(wrongRow, [[4, 4]]), /patch rows \[B, maxPatches, 48\]/);
  const badMask = tf.ones([2, 15], 'int32');
  assert.throws(() => model.forward(px, [[4, 4], [4, 4]], badMask), /pixel_attention_mask must be \[2, 16\]/);
  tf.dispose([px, wrongRow, badMask]);
  assert.throws(() => loadSiglip2VisionModel(fixtureDir('siglip_vision')), /SigLIP vision config was given where a SigLIP-2/);
  model.dispose();
});
