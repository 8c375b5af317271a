import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf, loadSafetensors, saveSafetensors } from '@raev2/core';
import { loadSiglipVisionModel, disposeVisionOutput } from '@raev2/encoders';
import { fixtureDir, loadIO, maxAbsDiff, testBackends, useBackend } from '../helpers/fixtures.js';

const ATOL = 1e-4;
const FAMILY = 'siglip_vision';

for (const backend of testBackends()) {
  test(`siglip_vision fixture: hidden states, last_hidden_state, pooler_output and interp.* match HF (${backend})`, async () => {
    await useBackend(backend);
    const io = loadIO(FAMILY);
    const before = tf.memory().numTensors;
    const model = loadSiglipVisionModel(fixtureDir(FAMILY));
    const out = model.forward(io.get('pixel_values')!);
    const diffs: Record<string, number> = {};
    assert.equal(out.hiddenStates.length, 3);
    out.hiddenStates.forEach((h, i) => (diffs[`hidden_states.${i}`] = maxAbsDiff(h, io.get(`hidden_states.${i}`)!)));
    diffs.last_hidden_state = maxAbsDiff(out.lastHiddenState, io.get('last_hidden_state')!);
    diffs.pooler_output = maxAbsDiff(out.poolerOutput!, io.get('pooler_output')!);
    // 24×40 input: the 4×4 position grid is resized bicubic (no antialias) to 3×5
    const interp = model.forward(io.get('pixel_values_interp')!, { interpolatePosEncoding: true });
    assert.deepEqual(interp.grid, [3, 5]);
    diffs['interp.last_hidden_state'] = maxAbsDiff(interp.lastHiddenState, io.get('interp.last_hidden_state')!);
    diffs['interp.pooler_output'] = maxAbsDiff(interp.poolerOutput!, io.get('interp.pooler_output')!);
    console.log(`  [${backend}] max abs diffs: ${Object.entries(diffs).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
    for (const [k, v] of Object.entries(diffs)) assert.ok(v <= ATOL, `${k}: ${v} > ${ATOL}`);
    disposeVisionOutput(out);
    disposeVisionOutput(interp);
    model.dispose();
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    for (const t of io.values()) t.dispose();
  });
}

test('siglip_vision: leftover pixels are dropped like the stride-p conv; another grid needs interpolatePosEncoding', async () => {
  await useBackend('cpu');
  const io = loadIO(FAMILY);
  const model = loadSiglipVisionModel(fixtureDir(FAMILY));
  // 32×32 fixture input padded with noise to 37×39: same 4×4 grid, same outputs
  const padded = tf.tidy(() => tf.concat([tf.concat([io.get('pixel_values')!, tf.randomNormal([2, 3, 32, 7], 0, 1, 'float32', 3)], 3), tf.randomNormal([2, 3, 5, 39], 0, 1, 'float32', 4)], 2));
  const out = model.forward(padded);
  assert.deepEqual(out.grid, [4, 4]);
  assert.ok(maxAbsDiff(out.lastHiddenState, io.get('last_hidden_state')!) <= ATOL);
  disposeVisionOutput(out);
  const x = tf.zeros([1, 3, 24, 40]);
  assert.throws(() => model.forward(x), /3×5 patch grid.*4×4.*interpolatePosEncoding/);
  const fourChannels = tf.zeros([1, 4, 32, 32]);
  assert.throws(() => model.forward(fourChannels), /NCHW \[B, 3, H, W\]/);
  tf.dispose([x, fourChannels, padded]);
  model.dispose();
  for (const t of io.values()) t.dispose();
});

/** A copy of the fixture folder with a modified config and/or weights. */
function variantFolder(edit: { config?: (c: Record<string, unknown>) => void; weights?: (w: Map<string, tf.Tensor>) => void }): string {
  const src = fixtureDir(FAMILY);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'siglip-'));
  const config = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
  edit.config?.(config);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const w = loadSafetensors(path.join(src, 'model.safetensors'));
  edit.weights?.(w);
  saveSafetensors(path.join(dir, 'model.safetensors'), w);
  for (const t of w.values()) t.dispose();
  return dir;
}

test('siglip_vision: bad config and bad weights give errors naming the field / tensor', async () => {
  await useBackend('cpu');
  const badHeads = variantFolder({ config: (c) => (c.num_attention_heads = 3) });
  assert.throws(() => loadSiglipVisionModel(badHeads), /config\.json.*num_attention_heads: hidden_size 32 is not divisible by num_attention_heads 3/s);
  const badType = variantFolder({ config: (c) => (c.model_type = 'siglip_text_model') });
  assert.throws(() => loadSiglipVisionModel(badType), /not a SigLIP vision model/);
  const badPatch = variantFolder({ config: (c) => (c.patch_size = 'eight') });
  assert.throws(() => loadSiglipVisionModel(badPatch), /patch_size/);
  const before = tf.memory().numTensors;
  const misshaped = variantFolder({
    weights: (w) => {
      w.get('vision_model.head.probe')!.dispose();
      w.set('vision_model.head.probe', tf.zeros([1, 2, 32]));
      w.get('vision_model.post_layernorm.bias')!.dispose();
      w.delete('vision_model.post_layernorm.bias');
    },
  });
  assert.throws(
    () => loadSiglipVisionModel(misshaped),
    (e: Error) => /missing tensor "vision_model\.post_layernorm\.bias" \(expected shape \[32\]\)/.test(e.message) && /"vision_model\.head\.probe" has shape \[1,2,32\] but the model expects \[1,1,32\]/.test(e.message),
  );
  assert.equal(tf.memory().numTensors, before, 'a failed load leaks no tensors');
  for (const d of [badHeads, badType, badPatch, misshaped]) fs.rmSync(d, { recursive: true, force: true });
});
