import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadSafetensors, saveSafetensors, tf } from '@raev2/core';
import { featuresCommand } from '@raev2/cli';
import { fixtureDir, loadIO, maxAbsDiff, useBackend } from '../helpers/fixtures.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
before(() => useBackend('wasm'));
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 't2i-features-'));
  dirs.push(d);
  return d;
};

for (const family of ['siglip_text', 'siglip2_text']) {
  test(`features --input-ids: the held-out ${family} references reproduce within 1e-4 (every hidden state, last_hidden_state, pooler_output; with and without the mask)`, async () => {
    const dir = fixtureDir(family);
    const io = loadIO(family);
    const outs = { plain: path.join(tmp(), 'f.safetensors'), masked: path.join(tmp(), 'm.safetensors') };
    await featuresCommand.run(['--model', dir, '--input-ids', path.join(dir, 'io.safetensors'), '--out', outs.plain, '--batch', '1']);
    await featuresCommand.run(['--model', dir, '--input-ids', path.join(dir, 'io.safetensors'), '--attention-mask', 'on', '--out', outs.masked]);
    const got = loadSafetensors(outs.plain), gotMasked = loadSafetensors(outs.masked);
    const names = [...io.keys()].filter((k) => /^(hidden_states\.\d+|last_hidden_state|pooler_output)$/.test(k));
    assert.ok(names.length >= 5, `reference outputs: ${names.join(', ')}`);
    assert.deepEqual([...got.keys()].sort(), names.sort(), 'the same outputs as HF');
    for (const k of names) {
      assert.deepEqual(got.get(k)!.shape, io.get(k)!.shape, k);
      const d = maxAbsDiff(got.get(k)!, io.get(k)!);
      assert.ok(d <= 1e-4, `${family} ${k}: max |Δ| ${d}`);
    }
    for (const k of ['last_hidden_state', 'pooler_output']) {
      const d = maxAbsDiff(gotMasked.get(k)!, io.get(`masked.${k}`)!);
      assert.ok(d <= 1e-4, `${family} masked.${k}: max |Δ| ${d}`);
    }
    tf.dispose([...got.values(), ...gotMasked.values(), ...io.values()]);
  });
}

test('features --input-ids: bad inputs are named', async () => {
  const dir = fixtureDir('siglip2_text');
  const d = tmp();
  const noIds = path.join(d, 'x.safetensors');
  saveSafetensors(noIds, { foo: tf.zeros([1, 2]) });
  await assert.rejects(featuresCommand.run(['--model', dir, '--input-ids', noIds, '--out', path.join(d, 'o.safetensors')]), /x\.safetensors has no tensor 'input_ids'/);
  const floats = path.join(d, 'f.safetensors');
  saveSafetensors(floats, { input_ids: tf.zeros([1, 2]) });
  await assert.rejects(featuresCommand.run(['--model', dir, '--input-ids', floats, '--out', path.join(d, 'o.safetensors')]), /'input_ids' must be an integer tensor/);
  const noMask = path.join(d, 'n.safetensors');
  saveSafetensors(noMask, { input_ids: tf.zeros([1, 2], 'int32') });
  await assert.rejects(featuresCommand.run(['--model', dir, '--input-ids', noMask, '--attention-mask', 'on', '--out', path.join(d, 'o.safetensors')]), /has no 'attention_mask'/);
  await assert.rejects(featuresCommand.run(['--model', dir, '--input-ids', noMask, '--pixel-values', noMask, '--out', path.join(d, 'o.safetensors')]), /exactly one/);
});
