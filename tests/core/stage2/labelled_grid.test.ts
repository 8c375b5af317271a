/**
 * The per-class sample sheet (io/grid.ts writeLabelledGrid, one writer with imageGrid): geometry
 * (no outer border, `gap` between cells), image pixels exactly as given, each row's label inked in
 * its margin, short rows left white.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { tf, Rng, writeLabelledGrid } from '@raev2/core';
import { useBackend } from '../../helpers/fixtures.js';

test('writeLabelledGrid: one row per label, image pixels exact, labels inked in the margin, short rows white', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const rng = new Rng(2);
  const h = 12, w = 10, gap = 2, labelWidth = 50;
  const a = rng.rand([3, h, w, 3]), b = rng.rand([1, h, w, 3]);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-lgrid-')), 'g.png');
  await writeLabelledGrid(file, [{ label: 'apples', images: a }, { label: 'bee', images: b }], { gap, labelWidth });
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.height, info.width, info.channels], [2 * h + gap, labelWidth + 3 * w + 2 * gap, 3]);
  const px = (y: number, x: number, c: number) => data[(y * info.width + x) * 3 + c];
  const av = a.dataSync(), bv = b.dataSync();
  for (let n = 0; n < 3; n++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let c = 0; c < 3; c++) {
    assert.equal(px(i, labelWidth + n * (w + gap) + j, c), Math.round(av[((n * h + i) * w + j) * 3 + c] * 255), `row 0 image ${n} (${i}, ${j}, ${c})`);
  }
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) assert.equal(px(h + gap + i, labelWidth + j, 1), Math.round(bv[(i * w + j) * 3 + 1] * 255));
  // the second row has one image: its other cells stay white
  for (let i = 0; i < h; i++) for (let j = 0; j < 2 * w; j++) assert.equal(px(h + gap + i, labelWidth + w + gap + j, 0), 255);
  // each row's label leaves ink in its margin
  for (const row of [0, 1]) {
    let ink = 0;
    for (let i = 0; i < h; i++) for (let j = 0; j < labelWidth; j++) if (px(row * (h + gap) + i, j, 0) < 128) ink++;
    assert.ok(ink > 5, `row ${row}: label ink ${ink} (a machine without fonts fails here)`);
  }
  await assert.rejects(writeLabelledGrid(file, []), /no rows/);
  tf.dispose([a, b]);
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
});
