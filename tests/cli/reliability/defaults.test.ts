import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf, fileEntry, latestCheckpoint, loadSafetensors, readCheckpointState, resolveDiTConfig, parseStage2Config, saveSafetensors, writeFileAtomic } from '@raev2/core';
import { sampleCommand, stage1EvalCommand, stage1TrainCommand, stage2TrainCommand } from '@raev2/cli';
import { useBackend } from '../../helpers/fixtures.js';
import { syntheticData, tmpDir } from './helpers.js';

test('defaults compose: a default-flag stage 1 (MobileNetV2 last3, 96 channels) feeds a default-flag stage 2 (the tiny preset widens to the latent)', async () => {
  await useBackend('wasm');
  const data = await syntheticData();
  const dir = tmpDir('defaults');
  const s1 = path.join(dir, 's1'), s2 = path.join(dir, 's2');
  const before = tf.memory().numTensors;
  // model flags all default; only the sizes are small (32 px, 2 steps of 4 images)
  await stage1TrainCommand.run(['--data', `folder:${data}`, '--out', s1, '--image-size', '32', '--steps', '2', '--batch', '4', '--sample-every', '0']);
  const summary = JSON.parse(fs.readFileSync(path.join(s1, 'stage1.json'), 'utf8'));
  assert.equal(summary.channels, 96);
  await stage2TrainCommand.run(['--stage1', s1, '--data', `folder:${data}`, '--out', s2, '--steps', '2', '--batch', '4', '--metric-every', 'none', '--sample-every', '0']);
  assert.equal(readCheckpointState(latestCheckpoint(s2)!).step, 2);
  assert.equal(tf.memory().numTensors, before, 'the chain leaks tensors');
  // the default preset's body and head widths fit the 96-channel latent (and stay 64 wide on a narrower one)
  const cfg = parseStage2Config({ stage1: s1, data: `folder:${data}`, out: s2 });
  assert.equal(cfg.model.preset, 'tiny');
  const wide = resolveDiTConfig(cfg, { grid: [2, 2], channels: 96 }, 1);
  assert.ok(wide.hiddenSize[0] >= 96 && wide.hiddenSize[0] % wide.numHeads[0] === 0, `body width ${wide.hiddenSize[0]}`);
  assert.equal(resolveDiTConfig(cfg, { grid: [2, 2], channels: 8 }, 1).hiddenSize[0], 64);

  // `sample` on a checkpoint whose weights hold a NaN (checksums updated, so only the values are wrong) fails and writes nothing
  const ckpt = latestCheckpoint(s2)!;
  for (const file of ['model.safetensors', 'ema.safetensors']) {
    const sd = loadSafetensors(path.join(ckpt, file));
    for (const [name, t] of [...sd]) {
      if (t.dtype !== 'float32') continue;
      const v = t.dataSync().slice();
      v[0] = NaN;
      sd.set(name, tf.tensor(v, t.shape));
      t.dispose();
    }
    saveSafetensors(path.join(ckpt, file), sd);
    tf.dispose([...sd.values()]);
  }
  const state = readCheckpointState(ckpt);
  for (const f of Object.keys(state.files)) state.files[f] = fileEntry(path.join(ckpt, f));
  writeFileAtomic(path.join(ckpt, 'state.json'), JSON.stringify(state, null, 2));
  const samples = path.join(dir, 'samples');
  await assert.rejects(sampleCommand.run(['--ckpt', s2, '--out', samples, '--per-class', '1', '--steps', '2', '--images', 'off']), /samples of .*non-finite values \(NaN or Inf\) in latents[\s\S]*nothing was written/);
  assert.ok(!fs.existsSync(samples));

  // `stage1 eval` refuses a decoder whose weights hold a NaN (before scoring anything)
  const decFile = path.join(s1, 'decoder', 'model.safetensors');
  const dec = loadSafetensors(decFile);
  const [name, t] = [...dec].find(([, x]) => x.dtype === 'float32')!;
  const v = t.dataSync().slice();
  v[0] = NaN;
  dec.set(name, tf.tensor(v, t.shape));
  t.dispose();
  saveSafetensors(decFile, dec);
  tf.dispose([...dec.values()]);
  const json = path.join(dir, 'eval.json');
  await assert.rejects(stage1EvalCommand.run(['--run', s1, '--data', `folder:${data}`, '--features', 'none', '--json', json]), /decoder weights in .*decoder: non-finite values \(NaN or Inf\) in /);
  assert.ok(!fs.existsSync(json));
  assert.equal(tf.memory().numTensors, before, 'the error paths leak no tensors');
  fs.rmSync(dir, { recursive: true });
});
