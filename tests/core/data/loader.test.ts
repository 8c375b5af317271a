import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { tf, arrayDataset, imageFolder, emojiDataset, ImageLoader, type ImageReader } from '@raev2/core';
import { useBackend } from '../../helpers/fixtures.js';

/** A reader that paints image i (path "i.png") with the constant value i/100 and counts reads. */
function fakeReader(): { read: ImageReader; reads: string[] } {
  const reads: string[] = [];
  const read: ImageReader = async (paths, [h, w]) => {
    reads.push(...paths);
    if (paths.some((p) => p.includes('bad'))) throw new Error('corrupt');
    return tf.tidy(() => tf.stack(paths.map((p) => tf.fill([h, w, 3], parseInt(path.basename(p)) / 100))));
  };
  return { read, reads };
}

const toy = (n: number) => arrayDataset('toy', Array.from({ length: n }, (_, i) => ({ key: `k${i}`, path: `${i}.png`, label: i % 2, text: i % 3 ? `item ${i}` : undefined })), ['even', 'odd']);

test('loader: batches cover an epoch once, seeded shuffle per epoch, labels/texts follow the rows', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const { read } = fakeReader();
  const ld = new ImageLoader(toy(10), { batchSize: 4, size: 2, seed: 5, read, cache: false });
  assert.equal(ld.batchesPerEpoch, 3);
  const seen: number[] = [];
  for await (const b of ld.epoch(0)) {
    const v = b.images.dataSync();
    b.indices.forEach((i, r) => {
      assert.ok(Math.abs(v[r * 12] - i / 100) < 1e-7, 'row r holds item indices[r]');
      assert.equal(b.labels![r], i % 2);
      assert.equal(b.texts![r], i % 3 ? `item ${i}` : '');
      assert.equal(b.keys[r], `k${i}`);
    });
    seen.push(...b.indices);
    b.images.dispose();
  }
  assert.deepEqual([...seen].sort((a, b) => a - b), [...Array(10).keys()]);
  assert.deepEqual(ld.order(0), seen);
  assert.deepEqual(new ImageLoader(toy(10), { batchSize: 4, size: 2, seed: 5, read }).order(0), seen, 'same seed, same order');
  assert.notDeepEqual(ld.order(1), seen, 'a new order each epoch');
  const dl = new ImageLoader(toy(10), { batchSize: 4, size: 2, read, dropLast: true, shuffle: false });
  assert.equal(dl.batchesPerEpoch, 2);
  // resume from batch 1; stop early: the read-ahead batch is released
  for await (const b of dl.epoch(0, 1)) {
    assert.deepEqual(b.indices, [4, 5, 6, 7]);
    b.images.dispose();
    break;
  }
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
});

test('loader: the cache decodes each image once', async () => {
  await useBackend('cpu');
  const { read, reads } = fakeReader();
  const ld = new ImageLoader(toy(6), { batchSize: 4, size: [2, 3], read });
  assert.ok(ld.caching, "'auto' caches small datasets");
  for (let e = 0; e < 3; e++) for await (const b of ld.epoch(e)) {
    assert.deepEqual(b.images.shape, [b.indices.length, 2, 3, 3]);
    const v = b.images.dataSync();
    b.indices.forEach((i, r) => assert.ok(Math.abs(v[r * 18 + 17] - i / 100) < 1e-7));
    b.images.dispose();
  }
  assert.equal(reads.length, 6);
  assert.ok(!new ImageLoader(toy(6), { batchSize: 4, size: 64, read, cacheLimitMB: 0.1 }).caching);
});

test('loader: a corrupt image is reported by file and item', async () => {
  await useBackend('cpu');
  const { read } = fakeReader();
  const ds = arrayDataset('set', ['0.png', '1.png', 'bad.png'].map((p, i) => ({ key: `k${i}`, path: p })));
  const ld = new ImageLoader(ds, { batchSize: 3, size: 2, read, shuffle: false });
  await assert.rejects(ld.load([0, 1, 2]), /set: cannot read image bad\.png \(item 2, "k2"\): corrupt/);
  assert.throws(() => new ImageLoader(ds, { batchSize: 0, size: 2, read }), /batch size/);
});

test('loader with sharp: folder of PNGs (alpha on white), a truncated PNG named in the error, emoji batch', async () => {
  await useBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-loader-'));
  try {
    const solid = (r: number, g: number, b: number, a: number) => sharp({ create: { width: 8, height: 8, channels: 4, background: { r, g, b, alpha: a } } }).png().toBuffer();
    fs.mkdirSync(path.join(dir, 'red'));
    fs.mkdirSync(path.join(dir, 'clear'));
    fs.writeFileSync(path.join(dir, 'red/a.png'), await solid(255, 0, 0, 1));
    fs.writeFileSync(path.join(dir, 'clear/b.png'), await solid(0, 0, 255, 0));
    const ld = new ImageLoader(imageFolder(dir), { batchSize: 2, size: 4, shuffle: false });
    const b = await ld.load([0, 1]);
    assert.deepEqual(b.images.shape, [2, 4, 4, 3]);
    assert.deepEqual(Array.from(b.labels!), [0, 1]);
    const v = b.images.dataSync();
    assert.deepEqual(Array.from(v.slice(0, 3)), [1, 1, 1], 'transparent → white');
    assert.deepEqual(Array.from(v.slice(48, 51)), [1, 0, 0], 'opaque red');
    b.images.dispose();
    const png = await solid(0, 255, 0, 1);
    fs.writeFileSync(path.join(dir, 'red/c.png'), png.subarray(0, png.length - 20));
    const broken = new ImageLoader(imageFolder(dir), { batchSize: 3, size: 4, shuffle: false });
    await assert.rejects(broken.load([0, 1, 2]), (e: Error) => e.message.includes('cannot read image') && e.message.includes(path.join('red', 'c.png')) && e.message.includes('"red/c.png"'));
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
  const emoji = new ImageLoader(emojiDataset({ categories: ['Flags'], skinTones: false }), { batchSize: 8, size: 32, seed: 1 });
  for await (const b of emoji.epoch(0)) {
    assert.deepEqual(b.images.shape, [8, 32, 32, 3]);
    assert.equal(b.texts!.length, 8);
    const mm = tf.tidy(() => [b.images.min().dataSync()[0], b.images.max().dataSync()[0]]);
    assert.ok(mm[0] >= 0 && mm[1] <= 1 && mm[1] > mm[0]);
    b.images.dispose();
    break;
  }
});
