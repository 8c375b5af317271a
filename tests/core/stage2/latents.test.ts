import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf, arrayDataset, latentCacheKey, readLatentCache, writeLatentCache, latentBatch, statsHash, type LatentSet } from '@raev2/core';
import { useBackend } from '../../helpers/fixtures.js';

test('latent cache: round trip, and a cache from other inputs is rejected naming every differing field', async () => {
  await useBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-cache-'));
  const ds = arrayDataset('d', [0, 1, 2].map((i) => ({ key: `k${i}`, path: `p${i}.png`, label: i % 2 })), ['a', 'b']);
  const stats = { mean: tf.zeros([4, 2]), var: tf.ones([4, 2]) };
  const set: LatentSet = { latents: Float32Array.from({ length: 3 * 4 * 2 }, (_, i) => i / 7), labels: Int32Array.from([0, 1, 0]), count: 3, grid: [2, 2], channels: 2 };
  const key = latentCacheKey({ encoder: 'enc[layers=1.2]', selection: { layers: [1, 2] }, imageSize: [32, 32], stats, data: 'folder:x', dataset: ds, labels: set.labels });
  const file = path.join(dir, 'train.latents.safetensors');
  assert.equal(readLatentCache(file, key), null, 'no cache yet');
  writeLatentCache(file, set, key);
  const back = readLatentCache(file, key)!;
  assert.deepEqual(Array.from(back.latents), Array.from(set.latents));
  assert.deepEqual(Array.from(back.labels), [0, 1, 0]);
  assert.deepEqual(back.grid, [2, 2]);
  const b = latentBatch(back, [2, 0]);
  assert.deepEqual(b.shape, [2, 4, 2]);
  assert.deepEqual(Array.from(b.dataSync()).slice(0, 8), Array.from(set.latents.subarray(16, 24)));
  b.dispose();
  const other = { mean: stats.mean, var: tf.fill([4, 2], 2) };
  assert.notEqual(statsHash(other), statsHash(stats));
  const stale = latentCacheKey({ encoder: 'enc[layers=2]', selection: { layers: [2] }, imageSize: [64, 64], stats: other, data: 'folder:x', dataset: ds, labels: set.labels });
  assert.throws(() => readLatentCache(file, stale), (e: Error) => {
    for (const f of ['encoder: cached "enc[layers=1.2]", now "enc[layers=2]"', 'selection:', 'imageSize: cached [32,32], now [64,64]', 'stats: cached']) assert.ok(e.message.includes(f), `${f} missing from: ${e.message}`);
    assert.ok(!e.message.includes('items:'), 'unchanged fields are not listed');
    return /is stale/.test(e.message);
  });
  const relabelled = latentCacheKey({ encoder: 'enc[layers=1.2]', selection: { layers: [1, 2] }, imageSize: [32, 32], stats, data: 'folder:x', dataset: ds, labels: [1, 1, 0] });
  assert.throws(() => readLatentCache(file, relabelled), /items: cached/);
  tf.dispose([stats.mean, stats.var, other.var]);
});
