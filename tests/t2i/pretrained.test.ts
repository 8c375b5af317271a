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
    // one prompt per call with the same seed: the same starting noise, so only the prompt differs
    const one = async (prompt: string) => {
      const g = generateFromPrompts(model, { prompts: [prompt], perPrompt: 1, steps: 6, seed: 3, guidance: { method: 'cfg' as const, cfgScale: 3 } });
      const img = await decodeLatents(model, decoder, g.latents);
      const data = Float32Array.from(img.dataSync() as Float32Array); // a copy: the backend may reuse the buffer after dispose
      assert.equal(img.shape[0], 1);
      assert.equal(img.shape[3], 3);
      tf.dispose([g.latents, img]);
      return data;
    };
    const a = await one('red heart'), b = await one('woman firefighter, dark skin tone');
    assert.ok(a.every(Number.isFinite) && b.every(Number.isFinite));
    // the text condition changes the picture (mean |Δ| per pixel value in [0, 1])
    const mad = a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
    assert.ok(mad > 0.05, `mean |Δ| between the two prompts' images is ${mad}`);
  } finally {
    model.dispose();
  }
});
