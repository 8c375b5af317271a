import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { tf, Rng, readImage, readImages, writeImage } from '@raev2/core';
import { useBackend, assertClose } from '../../helpers/fixtures.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-image-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const rng = new Rng(3);

/** A random image whose values are exact 8-bit levels k/255. */
function levels(h: number, w: number, c = 3): tf.Tensor3D {
  return tf.tensor3d(Float32Array.from({ length: h * w * c }, () => rng.int(256) / 255), [h, w, c]);
}

async function rejectsNaming(p: Promise<unknown>, file: string): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e.message.includes(file), `error should name ${file}: ${e.message}`);
    return true;
  });
}

test('writeImage/readImage: PNG round trip is exact at 8-bit levels, no leaks, no temp files left', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const img = levels(7, 9);
  const file = path.join(dir, 'sub', 'rt.png');
  await writeImage(file, img);
  assert.deepEqual([...fs.readFileSync(file).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'PNG signature');
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['rt.png'], 'atomic write leaves no temp file');
  const back = await readImage(file);
  assert.deepEqual(back.shape, [7, 9, 3]);
  assert.deepEqual(back.dataSync(), img.dataSync());
  // a [1, H, W, 3] batch of one is accepted too
  const file4 = path.join(dir, 'rt4.png');
  const batch1 = img.expandDims(0);
  await writeImage(file4, batch1);
  const back4 = await readImage(file4);
  assert.deepEqual(back4.dataSync(), img.dataSync());
  tf.dispose([img, back, back4, batch1]);
  assert.equal(tf.memory().numTensors, before);
});

test('writeImage clamps to [0,1], rounds to the nearest level, maps NaN to 0', async () => {
  await useBackend('cpu');
  const t = tf.tensor3d([-0.5, 1.5, NaN, 0.5 / 255 - 1e-4, 0.5 / 255 + 1e-4, 0.3], [1, 2, 3]);
  const file = path.join(dir, 'clamp.png');
  await writeImage(file, t);
  const { data } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([...data], [0, 255, 0, 0, 1, Math.round(0.3 * 255)]);
  t.dispose();
});

test('writeImage picks the format by extension (JPEG close to the source) and rejects unknown ones by name', async () => {
  await useBackend('cpu');
  const smooth = tf.tidy(() => {
    const y = tf.linspace(0, 1, 16).reshape([16, 1, 1]);
    const x = tf.linspace(0, 1, 24).reshape([1, 24, 1]);
    return tf.concat([y.add(x.mul(0)), x.add(y.mul(0)), y.add(x).div(2)], 2) as tf.Tensor3D;
  });
  const jpg = path.join(dir, 'smooth.jpg');
  await writeImage(jpg, smooth);
  assert.deepEqual([...fs.readFileSync(jpg).subarray(0, 3)], [0xff, 0xd8, 0xff], 'JPEG signature');
  const back = await readImage(jpg);
  assertClose(back, smooth, 0.06, 'JPEG round trip');
  await rejectsNaming(writeImage(path.join(dir, 'x.bmp'), smooth), 'x.bmp');
  await assert.rejects(writeImage(path.join(dir, 'bad.png'), tf.zeros([2, 2])), /must be \[H, W, 1\|3\|4\]/);
  tf.dispose([smooth, back]);
});

test('readImage: truncated PNG, non-image and missing files fail with an error naming the file', async () => {
  await useBackend('cpu');
  const img = levels(48, 48);
  const full = path.join(dir, 'full.png');
  await writeImage(full, img);
  img.dispose();
  const bytes = fs.readFileSync(full);
  const cut = path.join(dir, 'truncated.png');
  fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
  await rejectsNaming(readImage(cut), cut);
  const text = path.join(dir, 'notes.png');
  fs.writeFileSync(text, 'this is not an image\n');
  await rejectsNaming(readImage(text), text);
  await rejectsNaming(readImage(path.join(dir, 'missing.png')), 'missing.png');
  await rejectsNaming(readImages([full, cut], 16), cut);
});

test('readImage composites alpha on white by default (black on request)', async () => {
  await useBackend('cpu');
  // pixel 0 fully transparent blue, pixel 1 half-transparent red, pixel 2 opaque green
  const rgba = Buffer.from([0, 0, 255, 0, 255, 0, 0, 128, 0, 255, 0, 255]);
  const file = path.join(dir, 'alpha.png');
  await sharp(rgba, { raw: { width: 3, height: 1, channels: 4 } }).png().toFile(file);
  const white = await readImage(file);
  const a = 128 / 255;
  assertClose(white, [1, 1, 1, 1, 1 - a, 1 - a, 0, 1, 0], 1.5 / 255, 'on white');
  const black = await readImage(file, { background: 'black' });
  assertClose(black, [0, 0, 0, a, 0, 0, 0, 1, 0], 1.5 / 255, 'on black');
  tf.dispose([white, black]);
});

test('readImage resizes (cover / contain / fill) and expands grey images to RGB', async () => {
  await useBackend('cpu');
  // 20×10 (w×h): left half black, right half white
  const px = Buffer.alloc(10 * 20, 0);
  for (let i = 0; i < 10; i++) px.fill(255, i * 20 + 10, i * 20 + 20);
  const file = path.join(dir, 'grey.png');
  await sharp(px, { raw: { width: 20, height: 10, channels: 1 } }).png().toFile(file);
  const orig = await readImage(file);
  assert.deepEqual(orig.shape, [10, 20, 3]);
  const cover = await readImage(file, { size: 10 }); // centre crop: columns 5..14 → half black, half white
  assert.deepEqual(cover.shape, [10, 10, 3]);
  const row = (t: tf.Tensor, i: number) => (t.slice([i, 0, 0], [1, -1, 1]).dataSync() as Float32Array);
  assert.ok(row(cover, 5)[0] < 0.05 && row(cover, 5)[9] > 0.95);
  const contain = await readImage(file, { size: 10, fit: 'contain', background: 'black' }); // letterboxed: rows 0 and 9 are bars
  assert.ok(row(contain, 0).every((v) => v < 0.02), 'letterbox bar is black');
  assert.ok(row(contain, 5)[9] > 0.95, 'image content inside');
  const fill = await readImage(file, { size: [4, 8], fit: 'fill' });
  assert.deepEqual(fill.shape, [4, 8, 3]);
  tf.dispose([orig, cover, contain, fill]);
});

test('readImages stacks to NHWC; without a size, differing sizes are an error naming the file', async () => {
  await useBackend('cpu');
  const a = path.join(dir, 'a.png'), b = path.join(dir, 'b.png'), c = path.join(dir, 'c.png');
  const ia = levels(6, 6), ib = levels(6, 6), ic = levels(5, 6);
  await Promise.all([writeImage(a, ia), writeImage(b, ib), writeImage(c, ic)]);
  const batch = await readImages([a, b]);
  assert.deepEqual(batch.shape, [2, 6, 6, 3]);
  assert.deepEqual(batch.slice([1], [1]).dataSync(), ib.dataSync());
  await rejectsNaming(readImages([a, c]), c);
  const resized = await readImages([a, c], 4);
  assert.deepEqual(resized.shape, [2, 4, 4, 3]);
  tf.dispose([ia, ib, ic, batch, resized]);
});

test('readImage reads an emoji PNG (RGBA, 64 px) with transparent corners composited to white', async () => {
  await useBackend('cpu');
  const require = createRequire(import.meta.url);
  const pkg = path.dirname(require.resolve('emoji-datasource-google/package.json'));
  const file = path.join(pkg, 'img/google/64/1f600.png');
  const img = await readImage(file, { size: 32 });
  assert.deepEqual(img.shape, [32, 32, 3]);
  const v = img.dataSync();
  assert.ok(v.every((x) => x >= 0 && x <= 1));
  assert.deepEqual(Array.from(v.subarray(0, 3)), [1, 1, 1], 'corner is white');
  img.dispose();
});
