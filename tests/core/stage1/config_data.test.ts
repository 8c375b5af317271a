import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ImageStore, mergeConfig, openDataSource, parseStage1Config, stage1Split, tf } from '@raev2/core';
import { useBackend } from '../../helpers/fixtures.js';
import { writeSyntheticImages } from './helpers.js';

test('stage-1 config: CPU defaults carry the published recipe; errors name the field', () => {
  const c = parseStage1Config({ data: 'emoji:google', out: 'runs/x' });
  assert.equal(c.lr, 2e-4);
  assert.deepEqual(c.betas, [0.9, 0.95]);
  assert.equal(c.weightDecay, 0);
  assert.equal(c.finalLr, 2e-5);
  assert.equal(c.warmupEpochs, 1);
  assert.equal(c.ema, 0.9978);
  assert.equal(c.noiseTau, 0.8);
  assert.equal(c.perceptual.weight, 1);
  assert.equal(c.gan.weight, 0.75);
  assert.equal(c.gan.dLoss, 'hinge');
  assert.equal(c.decoder.preset, 'tiny');
  assert.throws(() => parseStage1Config({ data: 'emoji:google', out: 'x', batchSize: 'eight' }, 'run.json'), (e: Error) => /run\.json/.test(e.message) && /batchSize/.test(e.message));
  assert.throws(() => parseStage1Config({ data: 'emoji:google', out: 'x', gan: { dLoss: 'wasserstein' } }), /gan\.dLoss/);
  assert.throws(() => parseStage1Config({ data: 'emoji:google', out: 'x', learningRate: 1 }), /learningRate/);
  assert.throws(() => parseStage1Config({ out: 'x' }), /data/);
  assert.throws(() => parseStage1Config({ data: 'emoji:google', out: 'x', gan: { kernel: 4 } }), /gan\.kernel/);
});

test('mergeConfig: flags override the file, nested objects merge', () => {
  const m = mergeConfig({ lr: 1e-3, gan: { weight: 0.5, dLoss: 'vanilla' }, data: 'a' }, { gan: { weight: 0.1 }, data: 'b', epochs: undefined });
  assert.deepEqual(m, { lr: 1e-3, gan: { weight: 0.1, dLoss: 'vanilla' }, data: 'b' });
});

test('data sources: folder / manifest / emoji, clear errors; deterministic held-out split', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-s1data-'));
  await writeSyntheticImages(path.join(root, 'imgs'), 10, 16, 3);
  assert.equal(openDataSource(`folder:${path.join(root, 'imgs')}`).size, 10);
  assert.equal(openDataSource(path.join(root, 'imgs')).size, 10, 'a bare path is a folder');
  fs.mkdirSync(path.join(root, 'empty'));
  assert.throws(() => openDataSource(`folder:${path.join(root, 'empty')}`), /contains no images/);
  assert.throws(() => openDataSource(`folder:${path.join(root, 'nope')}`), /does not exist/);
  fs.writeFileSync(path.join(root, 'm.jsonl'), '{"image": "imgs/img000.png"}\n{"image": "imgs/img001.png", "label": "a"}\n');
  assert.equal(openDataSource(`manifest:${path.join(root, 'm.jsonl')}`).size, 2);
  assert.throws(() => openDataSource('emoji:google,comic'), /unknown emoji style "comic"/);
  assert.throws(() => openDataSource('folder:'), /nothing after/);
  const emoji = openDataSource('emoji:google');
  assert.ok(emoji.size > 3000, `${emoji.size} google emoji`);
  const a = stage1Split(emoji, 0.1, 7, 100), b = stage1Split(emoji, 0.1, 7, 100);
  assert.equal(a.train.size, 100);
  assert.equal(a.heldOut!.size, Math.round(0.1 * emoji.size));
  assert.deepEqual([0, 5, 50].map((i) => a.heldOut!.get(i).key), [0, 5, 50].map((i) => b.heldOut!.get(i).key));
  const trainKeys = new Set(Array.from({ length: a.train.size }, (_, i) => a.train.get(i).key));
  for (let i = 0; i < a.heldOut!.size; i++) assert.ok(!trainKeys.has(a.heldOut!.get(i).key), 'held-out images are not trained on');
  fs.rmSync(root, { recursive: true });
});

test('ImageStore: decodes every image at the training size; a corrupt file is named before any work', async () => {
  await useBackend('cpu');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-s1img-'));
  await writeSyntheticImages(root, 3, 16, 4);
  const store = await ImageStore.load(openDataSource(root), [8, 8]);
  const before = tf.memory().numTensors;
  const x = store.batch([2, 0]);
  assert.deepEqual(x.shape, [2, 8, 8, 3]);
  const v = x.dataSync();
  assert.ok(v.every((p) => p >= 0 && p <= 1));
  x.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => store.batch([3]), /out of range/);
  fs.writeFileSync(path.join(root, 'img001.png'), Buffer.from('definitely not a png'));
  await assert.rejects(ImageStore.load(openDataSource(root), [8, 8]), (e: Error) => e.message.includes('img001.png'));
  fs.rmSync(root, { recursive: true });
});
