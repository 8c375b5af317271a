import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '@raev2/core';
import { generateFromPrompts, decodeLatents } from '@raev2/t2i';
import { readT2IPretrained, loadT2IPretrained } from '../../packages/cli/src/demo/t2i/pretrained.js';
import { useBackend } from '../helpers/fixtures.js';

test('shipped t2i checkpoint: ≤ 30 MB, checksums hold, the manifest carries the command that rebuilds it, and different prompts generate different images', async () => {
  await useBackend('wasm');
  const m = readT2IPretrained(); // verifies every file's size and sha256
  assert.ok(m, 'no shipped t2i checkpoint');
  const bytes = Object.values(m.files).reduce((s, f) => s + f.bytes, 0);
  assert.ok(bytes <= 30e6, `${bytes} bytes`);
  assert.ok(m.commands.some((c) => c.includes('npm run demo -- --task t2i --train')), m.commands.join('\n'));
  assert.ok(m.commands.every((c) => !/(^|\s)\/(work|tmp|home|root)\//.test(c)), 'no machine paths in the commands');
  const { model, decoder } = await loadT2IPretrained(m);
  try {
    const req = { prompts: ['red heart', 'woman firefighter, dark skin tone'], perPrompt: 1, steps: 6, seed: 3, guidance: { method: 'cfg' as const, cfgScale: 3 } };
    const g = generateFromPrompts(model, req);
    const img = await decodeLatents(model, decoder, g.latents);
    assert.equal(img.shape[0], 2);
    assert.equal(img.shape[3], 3);
    const [a, b] = tf.tidy(() => tf.split(img, 2)).map((t) => t.dataSync() as Float32Array);
    assert.ok(a.every(Number.isFinite) && b.every(Number.isFinite));
    // same noise, different prompts: the text condition changes the picture (mean |Δ| per pixel)
    const mad = a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
    assert.ok(mad > 0.05, `mean |Δ| between the two prompts' images is ${mad}`);
    tf.dispose([g.latents, img]);
  } finally {
    model.dispose();
  }
});
