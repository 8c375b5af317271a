import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { tf, loadSafetensors } from '@raev2/core';
import {
  parseImageProcessor, preprocessUint8, parseSiglip2Processor, preprocessNaflex, naflexFromTensor, naflexImageSize, disposeNaflexInputs,
} from '@raev2/encoders';
import { fixtureDir, maxAbsDiff, useBackend } from '../helpers/fixtures.js';

const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8')) as unknown;
const loadPre = (family: string) => loadSafetensors(path.join(fixtureDir(family), 'preprocess.safetensors'));

/** The fixture's uint8 image as an ImageU8 and as an NHWC float tensor in [0, 1]. */
function image(pre: Map<string, tf.Tensor>) {
  const t = pre.get('image_uint8')!;
  const [height, width, channels] = t.shape as number[];
  const data = Uint8Array.from(t.dataSync());
  return { u8: { data, height, width, channels }, float: tf.tidy(() => t.toFloat().div(255).expandDims(0)) };
}

test('SiglipImageProcessor (siglip_vision preprocess.safetensors): PIL bicubic 45×62 → 32×32, rescale, mean/std 0.5', async () => {
  await useBackend('cpu');
  const pre = loadPre('siglip_vision');
  const proc = parseImageProcessor(readJson(path.join(fixtureDir('siglip_vision'), 'preprocessor_config.json')), 'siglip_vision preprocessor_config.json');
  assert.equal(proc.resample, 'bicubic');
  const { u8, float } = image(pre);
  const ref = pre.get('pixel_values')!; // [1, 3, 32, 32]
  const host = preprocessUint8(u8, proc);
  const dHost = maxAbsDiff(host, ref.dataSync());
  console.log(`  8-bit PIL path: max abs diff ${dHost.toExponential(2)}`);
  assert.ok(dHost <= 1e-6, `8-bit path ${dHost}`);
  float.dispose();
  for (const t of pre.values()) t.dispose();
});

test('Siglip2ImageProcessor (siglip2_vision preprocess.safetensors): 17×27 → 12×20, 3×5 patches of 4, padded to 16 rows', async () => {
  await useBackend('cpu');
  const pre = loadPre('siglip2_vision');
  const proc = parseSiglip2Processor(readJson(path.join(fixtureDir('siglip2_vision'), 'preprocessor_config.json')));
  assert.deepEqual([proc.patchSize, proc.maxNumPatches, proc.resample], [4, 16, 'bilinear']);
  assert.deepEqual(naflexImageSize(17, 27, 4, 16), [12, 20]);
  const { u8, float } = image(pre);
  const before = tf.memory().numTensors;
  const out = preprocessNaflex([u8], proc);
  assert.deepEqual(out.spatialShapes, (pre.get('spatial_shapes_int32')!.arraySync() as number[][]).map(([h, w]) => [h, w]));
  assert.deepEqual(out.pixelAttentionMask.arraySync(), pre.get('pixel_attention_mask')!.arraySync());
  const dHost = maxAbsDiff(out.pixelValues, pre.get('pixel_values')!);
  // device path: same size rule and filter as a float resize (no 8-bit rounding of the resized image)
  const dev = naflexFromTensor(float, proc);
  assert.deepEqual(dev.spatialShapes, [[3, 5]]);
  const dDev = maxAbsDiff(dev.pixelValues, pre.get('pixel_values')!);
  console.log(`  8-bit PIL path: max abs diff ${dHost.toExponential(2)}; float tensor path: ${dDev.toExponential(2)}`);
  assert.ok(dHost <= 1e-6, `8-bit path ${dHost}`);
  // PIL rounds to 8 bits after each of its two passes: up to one level (1/255), i.e. 2/255 after (x − 0.5)/0.5
  assert.ok(dDev <= 2.01 / 255, `float path ${dDev}`);
  disposeNaflexInputs(out);
  disposeNaflexInputs(dev);
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
  float.dispose();
  for (const t of pre.values()) t.dispose();
});

test('naflexImageSize: keeps the aspect ratio within the patch budget, at least one patch per side', () => {
  assert.deepEqual(naflexImageSize(224, 224, 16, 256), [256, 256]);
  assert.deepEqual(naflexImageSize(8, 1000, 16, 256), [32, 2048]);
  for (const [h, w] of [[480, 640], [1080, 1920], [33, 7], [500, 500]]) {
    const [th, tw] = naflexImageSize(h, w, 16, 256);
    assert.ok(th % 16 === 0 && tw % 16 === 0 && th >= 16 && tw >= 16);
    assert.ok((th / 16) * (tw / 16) <= 256, `${h}×${w} → ${th}×${tw}`);
    // aspect ratio within one patch of the original
    assert.ok(Math.abs(th / tw - h / w) * tw <= 16 * 2, `${h}×${w} → ${th}×${tw}`);
  }
});

test('Siglip2 processor config: bad values name the field', () => {
  assert.throws(() => parseSiglip2Processor({ patch_size: 0 }, 'x/preprocessor_config.json'), /x\/preprocessor_config\.json[\s\S]*patch_size/);
  assert.throws(() => parseSiglip2Processor({ image_mean: [0.5, 0.5] }, 'p.json'), /p\.json[\s\S]*image_mean/);
  assert.deepEqual(parseSiglip2Processor(null).maxNumPatches, 256);
});
