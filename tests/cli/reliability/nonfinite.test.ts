import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf, FLOAT32_SQUARE_SAFE, SafetensorsFile, listCheckpoints, loadSafetensors, saveSafetensors, countNonFinite } from '@raev2/core';
import { featuresCommand } from '@raev2/cli';
import { fixtureDir, useBackend } from '../../helpers/fixtures.js';
import { runCli, smallStage1, syntheticData, tmpDir } from './helpers.js';

/** Every float of every checkpoint in `run` (model, EMA, optimiser): count of NaN/Inf/|x| > √FLT_MAX. */
function badValuesInCheckpoints(run: string): number {
  let bad = 0;
  for (const c of listCheckpoints(run)) {
    for (const f of fs.readdirSync(c.path).filter((n) => n.endsWith('.safetensors'))) {
      const st = SafetensorsFile.open(path.join(c.path, f));
      for (const k of st.keys()) bad += countNonFinite(st.readHost(k).data, FLOAT32_SQUARE_SAFE);
      st.close();
    }
  }
  return bad;
}

test('stage1 train --lr 1e30: stops with exit 1 naming the last checkpoint that passed the check; no checkpoint holds non-finite values', async () => {
  const data = await syntheticData();
  const out = path.join(tmpDir('lr'), 'run');
  const r = await runCli(smallStage1(data, out, 6, ['--lr', '1e30', '--checkpoint-every', '1']));
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /non-finite values[\s\S]*decoder\.[\w.]+ \(\d+ of \d+\)[\s\S]*the last checkpoint that passed the check is \(none/);
  assert.equal(listCheckpoints(out).length, 0, 'the blown-up weights after step 1 are not checkpointed');
  assert.equal(badValuesInCheckpoints(out), 0);
  assert.deepEqual(fs.readdirSync(out).filter((n) => /\.tmp-|run\.lock/.test(n)), []);
  fs.rmSync(path.dirname(out), { recursive: true });
});

test('features: NaN pixel values fail naming the input (a warning with --allow-non-finite); NaN weights fail naming the outputs', async () => {
  await useBackend('wasm');
  const dir = tmpDir('nan');
  const fixture = fixtureDir('dinov2');
  const io = loadSafetensors(path.join(fixture, 'io.safetensors'), (k) => k === 'pixel_values');
  const px = io.get('pixel_values')!;
  const data = px.dataSync().slice();
  data[100] = NaN;
  const bad = path.join(dir, 'nan.safetensors');
  saveSafetensors(bad, { pixel_values: { dtype: 'F32', shape: px.shape, data } });
  px.dispose();
  const out = path.join(dir, 'h.safetensors');
  const before = tf.memory().numTensors;
  await assert.rejects(featuresCommand.run(['--model', fixture, '--pixel-values', bad, '--out', out]), /--pixel-values .*nan\.safetensors \(rows 0–1\): non-finite values \(NaN or Inf\) in pixel_values \(1 of/);
  assert.ok(!fs.existsSync(out), 'nothing written');
  assert.equal(tf.memory().numTensors, before, 'no tensors leak on the error path');
  const warnings: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => (warnings.push(String(s)), true)) as typeof process.stderr.write;
  try {
    await featuresCommand.run(['--model', fixture, '--pixel-values', bad, '--out', out, '--allow-non-finite']);
  } finally {
    process.stderr.write = write;
  }
  assert.ok(warnings.some((w) => /^warning: --pixel-values .*pixel_values \(1 of/.test(w)), warnings.join(''));
  assert.ok(fs.existsSync(out));

  // a model folder whose weights hold a NaN: the outputs are non-finite and the error says where to look
  const model = path.join(dir, 'model');
  fs.cpSync(fixture, model, { recursive: true });
  fs.chmodSync(model, 0o755);
  for (const f of fs.readdirSync(model)) fs.chmodSync(path.join(model, f), 0o644);
  const weights = loadSafetensors(path.join(model, 'model.safetensors'));
  const name = [...weights.keys()].find((k) => k.includes('layer.0') && k.endsWith('weight') && weights.get(k)!.rank === 2)!;
  const w = weights.get(name)!;
  const wd = w.dataSync().slice();
  wd[0] = NaN;
  weights.set(name, tf.tensor(wd, w.shape));
  w.dispose();
  saveSafetensors(path.join(model, 'model.safetensors'), weights);
  tf.dispose([...weights.values()]);
  const good = path.join(fixture, 'io.safetensors');
  await assert.rejects(featuresCommand.run(['--model', model, '--pixel-values', good, '--out', path.join(dir, 'w.safetensors')]), /features of .*model .*non-finite values .*hidden_states\.\d[\s\S]*model weights hold NaN\/Inf/);
  assert.ok(!fs.existsSync(path.join(dir, 'w.safetensors')));
  fs.rmSync(dir, { recursive: true });
});
