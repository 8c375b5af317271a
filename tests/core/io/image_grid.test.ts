import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { tf, imageGrid, gridLayout, writeImageGrid, readImage } from '@raev2/core';
import { useBackend } from '../../helpers/fixtures.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-grid-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** n constant-colour images [n, h, w, 3]; image k has colour (k+1)/10, 0.5, 1 − (k+1)/10. */
function swatches(n: number, h: number, w: number): tf.Tensor4D {
  const px = new Float32Array(n * h * w * 3);
  for (let k = 0; k < n; k++) for (let i = 0; i < h * w; i++) px.set([(k + 1) / 10, 0.5, 1 - (k + 1) / 10], (k * h * w + i) * 3);
  return tf.tensor4d(px, [n, h, w, 3]);
}

const pixel = (v: ArrayLike<number>, width: number, y: number, x: number) => [0, 1, 2].map((c) => v[(y * width + x) * 3 + c]);

test('imageGrid: layout (rows of cols, pad around and between), colours in place, pad value in gaps and empty cells', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const [n, h, w, pad, cols] = [5, 4, 6, 2, 3];
  const imgs = swatches(n, h, w);
  const grid = await imageGrid(imgs, { cols, pad, padValue: 0 });
  const [gh, gw] = [2 * h + 3 * pad, cols * w + 4 * pad];
  assert.deepEqual(grid.shape, [gh, gw, 3]);
  const v = grid.dataSync();
  for (let k = 0; k < n; k++) {
    const top = pad + Math.floor(k / cols) * (h + pad), left = pad + (k % cols) * (w + pad);
    const want = [(k + 1) / 10, 0.5, 1 - (k + 1) / 10];
    for (const [y, x] of [[top, left], [top + h - 1, left + w - 1], [top + 1, left + 2]]) {
      pixel(v, gw, y, x).forEach((c, i) => assert.ok(Math.abs(c - want[i]) < 1e-6, `image ${k} at (${y},${x})`));
    }
    assert.deepEqual(pixel(v, gw, top - 1, left), [0, 0, 0], `gap above image ${k}`);
    assert.deepEqual(pixel(v, gw, top, left - 1), [0, 0, 0], `gap left of image ${k}`);
  }
  // the sixth cell (row 1, col 2) is empty
  assert.deepEqual(pixel(v, gw, pad + h + pad + 1, pad + 2 * (w + pad) + 1), [0, 0, 0]);
  assert.deepEqual(pixel(v, gw, gh - 1, gw - 1), [0, 0, 0]);
  const layout = gridLayout(n, h, w, { cols, pad });
  assert.deepEqual([layout.rows, layout.cols, layout.height, layout.width], [2, 3, gh, gw]);
  assert.deepEqual(layout.cell(4), { top: pad + h + pad, left: pad + w + pad });
  tf.dispose([imgs, grid]);
  assert.equal(tf.memory().numTensors, before);
});

test('imageGrid: default cols = ⌈√N⌉, one-channel images become grey RGB, bad inputs are rejected', async () => {
  await useBackend('cpu');
  const grey = tf.fill([4, 2, 2, 1], 0.25) as tf.Tensor4D;
  const g = await imageGrid(grey, { pad: 1 });
  assert.deepEqual(g.shape, [2 * 2 + 3, 2 * 2 + 3, 3]);
  assert.deepEqual(pixel(g.dataSync(), 7, 1, 1), [0.25, 0.25, 0.25]);
  await assert.rejects(imageGrid(tf.zeros([2, 2, 3])), /NHWC/);
  await assert.rejects(imageGrid(grey, { labels: ['a'] }), /1 labels for 4 images/);
  tf.dispose([grey, g]);
});

test('imageGrid with labels: a caption strip under each image, text drawn only where a label is given', async () => {
  await useBackend('cpu');
  const [n, h, w, pad] = [3, 8, 40, 2];
  const imgs = swatches(n, h, w);
  const grid = await imageGrid(imgs, { cols: 3, pad, labels: ['cat', '', 'a very long caption that must be cut'], labelHeight: 14 });
  const gw = 3 * w + 4 * pad;
  assert.deepEqual(grid.shape, [h + 14 + 2 * pad, gw, 3]);
  const v = grid.dataSync();
  const darkIn = (k: number) => {
    let dark = 0;
    for (let y = pad + h; y < pad + h + 14; y++) for (let x = pad + k * (w + pad); x < pad + k * (w + pad) + w; x++) if (pixel(v, gw, y, x)[0] < 0.5) dark++;
    return dark;
  };
  // image pixels are untouched by the caption layer
  pixel(v, gw, pad + h - 1, pad + w / 2).forEach((c, i) => assert.ok(Math.abs(c - [0.1, 0.5, 0.9][i]) < 1e-6));
  // a caption must leave ink: no fonts to render SVG text is a failure, not a skip
  assert.ok(darkIn(0) > 5, `caption "cat" is drawn (${darkIn(0)} dark pixels; are fonts installed for SVG text?)`);
  assert.equal(darkIn(1), 0, 'no caption, no ink');
  assert.ok(darkIn(2) > 5, 'long caption is drawn (truncated)');
  const file = path.join(dir, 'grid.png');
  await writeImageGrid(file, imgs, { cols: 3, pad, labels: ['cat', '', 'x'] });
  const meta = await sharp(file).metadata();
  assert.deepEqual([meta.width, meta.height], [gw, h + Math.max(12, Math.floor(w / 5)) + 2 * pad]);
  const back = await readImage(file);
  assert.equal(back.shape[1], gw);
  tf.dispose([imgs, grid, back]);
});
