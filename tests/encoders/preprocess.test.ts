import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf, SafetensorsFile, Rng } from '@raev2/core';
import {
  parseImageProcessor, preprocessImages, preprocessUint8, resizedSize, centerCropOffset, interpolate, torchResizeWeights,
} from '@raev2/encoders';
import { fixtureDir, maxAbsDiff, testBackends, useBackend } from '../helpers/fixtures.js';

const FAMILIES = ['dinov2', 'dinov2_with_registers', 'dinov3_vit', 'vit_mae', 'clip_vision', 'siglip_vision'];

function fixtureImage(family: string) {
  const dir = fixtureDir(family);
  const proc = parseImageProcessor(JSON.parse(fs.readFileSync(path.join(dir, 'preprocessor_config.json'), 'utf8')), family);
  const f = SafetensorsFile.open(path.join(dir, 'preprocess.safetensors'));
  const img = f.readHost('image_uint8');
  const ref = f.readHost('pixel_values');
  f.close();
  const [height, width] = img.shape;
  return { proc, img: { data: Uint8Array.from(img.data as ArrayLike<number>), height, width, channels: 3 }, ref: ref.data as Float32Array, refShape: ref.shape };
}

test('8-bit host preprocessing reproduces the HF processors: PIL ones bit for bit, DINOv3 (torchvision) to float rounding', () => {
  for (const family of FAMILIES) {
    const { proc, img, ref } = fixtureImage(family);
    const d = maxAbsDiff(preprocessUint8(img, proc), ref);
    assert.ok(d <= (proc.backend === 'pil' ? 1e-6 : 1e-5), `${family} (${proc.type}): max abs diff ${d}`);
  }
});

test('tensor preprocessing (float [0,1] NHWC → NCHW) is within 2e-2 of the processors on every backend', async () => {
  // PIL rounds to 8 bits after each resize pass; one 8-bit step is 1/255/0.225 ≈ 0.0174 after ImageNet
  // normalisation, which bounds the float path's difference (measured ≤ 1.81e-2; DINOv3's torch path ≤ 1e-6)
  for (const backend of testBackends()) {
    await useBackend(backend);
    for (const family of FAMILIES) {
      const { proc, img, ref, refShape } = fixtureImage(family);
      const x = tf.tensor4d(Float32Array.from(img.data, (v) => v / 255), [1, img.height, img.width, 3]);
      const before = tf.memory().numTensors;
      const y = preprocessImages(x, proc);
      assert.deepEqual(y.shape, refShape);
      const d = maxAbsDiff(y, ref);
      assert.ok(d <= (proc.backend === 'pil' ? 2e-2 : 1e-5), `${backend} ${family}: max abs diff ${d}`);
      y.dispose();
      assert.equal(tf.memory().numTensors, before, 'preprocess leaked');
      x.dispose();
    }
  }
});

test('preprocessing: grey and RGBA inputs, resize mode without crop, gradients flow to the image on wasm as on cpu', async () => {
  const { proc } = fixtureImage('dinov2');
  const rng = new Rng(3);
  const data = rng.uniformArray(2 * 40 * 50 * 3, 0, 1);
  const weights = rng.uniformArray(2 * 3 * 28 * 42, -1, 1);
  const grads: Float32Array[] = [];
  for (const backend of testBackends()) {
    await useBackend(backend);
    const x = tf.tensor4d(data, [2, 40, 50, 3]);
    const y = preprocessImages(x, proc, { mode: 'resize', size: [28, 42] });
    assert.deepEqual(y.shape, [2, 3, 28, 42]);
    const grey = preprocessImages(x.mean(3, true), proc);
    assert.deepEqual(grey.shape, [2, 3, 56, 56]);
    const rgba = preprocessImages(tf.concat([x, tf.onesLike(x).slice([0, 0, 0, 0], [-1, -1, -1, 1])], 3), proc);
    assert.ok(maxAbsDiff(rgba, preprocessImages(x, proc)) === 0, 'alpha is dropped');
    const w = tf.tensor4d(weights, [2, 3, 28, 42]);
    const g = tf.grad((im: tf.Tensor) => preprocessImages(im, proc, { mode: 'resize', size: [28, 42] }).mul(w).sum())(x);
    grads.push(g.dataSync() as Float32Array);
    tf.dispose([x, y, grey, rgba, w, g]);
  }
  if (grads.length > 1) assert.ok(maxAbsDiff(grads[0], grads[1]) < 1e-4, 'wasm and cpu gradients agree');
  assert.ok(grads[0].some((v) => v !== 0));
});

/** PyTorch upsample_bicubic2d (align_corners=False, no antialias) written directly from its definition, float64. */
function refBicubic(src: number[][], oh: number, ow: number): number[][] {
  const h = src.length, w = src[0].length, A = -0.75;
  const cc1 = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
  const cc2 = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  const coeffs = (t: number) => [cc2(t + 1), cc1(t), cc1(1 - t), cc2(2 - t)];
  const at = (y: number, x: number) => src[Math.min(Math.max(y, 0), h - 1)][Math.min(Math.max(x, 0), w - 1)];
  return Array.from({ length: oh }, (_, i) => Array.from({ length: ow }, (_, j) => {
    const ry = (h / oh) * (i + 0.5) - 0.5, rx = (w / ow) * (j + 0.5) - 0.5;
    const iy = Math.floor(ry), ix = Math.floor(rx);
    const wy = coeffs(ry - iy), wx = coeffs(rx - ix);
    let s = 0;
    for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) s += wy[a] * wx[b] * at(iy - 1 + a, ix - 1 + b);
    return s;
  }));
}

/** Antialiased (PIL-style) resize from its definition: filter widened by the scale, normalised per output pixel, float64. */
function refAntialias1d(src: number[], out: number, mode: 'bicubic' | 'bilinear'): number[] {
  const n = src.length, scale = n / out, fs = Math.max(scale, 1), a = -0.5;
  const k = (x: number) => {
    x = Math.abs(x);
    if (mode === 'bilinear') return Math.max(1 - x, 0);
    return x < 1 ? ((a + 2) * x - (a + 3)) * x * x + 1 : x < 2 ? ((a * x - 5 * a) * x + 8 * a) * x - 4 * a : 0;
  };
  return Array.from({ length: out }, (_, i) => {
    const c = scale * (i + 0.5);
    let s = 0, tot = 0;
    for (let j = 0; j < n; j++) {
      const w = k((j + 0.5 - c) / fs);
      s += w * src[j];
      tot += w;
    }
    return s / tot;
  });
}

test('interpolate matches PyTorch bicubic (a = −0.75, edge-clamped) and antialiased resizes written from their definitions', async () => {
  const rng = new Rng(7);
  for (const backend of testBackends()) {
    await useBackend(backend);
    for (const [h, w, oh, ow] of [[4, 4, 3, 5], [7, 5, 3, 8], [3, 3, 9, 2], [6, 6, 6, 6]]) {
      const src = Array.from({ length: h }, () => Array.from({ length: w }, () => rng.normal()));
      const x = tf.tensor4d(src.flat(), [1, h, w, 1]);
      const y = interpolate(x, [oh, ow], { mode: 'bicubic' });
      assert.ok(maxAbsDiff(y.dataSync(), refBicubic(src, oh, ow).flat()) < 1e-5, `${backend} bicubic ${h}×${w}→${oh}×${ow}`);
      for (const mode of ['bicubic', 'bilinear'] as const) {
        const ya = interpolate(x, [oh, ow], { mode, antialias: true });
        const rows = src.map((r) => refAntialias1d(r, ow, mode));
        const cols = Array.from({ length: ow }, (_, j) => refAntialias1d(rows.map((r) => r[j]), oh, mode));
        const expected = Array.from({ length: oh }, (_, i) => cols.map((c) => c[i])).flat();
        assert.ok(maxAbsDiff(ya.dataSync(), expected) < 1e-5, `${backend} ${mode} antialias ${h}×${w}→${oh}×${ow}`);
        ya.dispose();
      }
      tf.dispose([x, y]);
    }
  }
  // at equal size every mode is the identity
  assert.deepEqual(Array.from(torchResizeWeights(3, 3, { mode: 'bicubic', antialias: true })), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
});

test('processor configs: class defaults, legacy integer sizes, crop rounding per library, clear errors', () => {
  const clip = parseImageProcessor({ image_processor_type: 'CLIPImageProcessor', size: 224, crop_size: 224 }, 'clip.json');
  assert.deepEqual(clip.resize, { kind: 'shortest', shortest: 224 });
  assert.deepEqual(clip.crop, [224, 224]);
  assert.equal(clip.resample, 'bicubic');
  assert.deepEqual(clip.mean, [0.48145466, 0.4578275, 0.40821073]);
  const vit = parseImageProcessor({ feature_extractor_type: 'ViTFeatureExtractor', size: 224, do_normalize: false }, 'vit.json');
  assert.deepEqual(vit.resize, { kind: 'exact', height: 224, width: 224 });
  assert.deepEqual([vit.mean, vit.std, vit.resample, vit.backend], [[0, 0, 0], [1, 1, 1], 'bilinear', 'pil']);
  const fast = parseImageProcessor({ image_processor_type: 'BitImageProcessorFast', size: { shortest_edge: 256 }, crop_size: { height: 224, width: 224 } }, 'bit.json');
  assert.equal(fast.backend, 'torch');
  const noRescale = parseImageProcessor({ do_rescale: false, image_mean: 0.5, image_std: 0.5 }, 'x.json');
  assert.deepEqual([noRescale.rescaleFactor, noRescale.mean], [1, [0.5, 0.5, 0.5]]);

  assert.deepEqual(resizedSize(69, 86, { kind: 'shortest', shortest: 64 }), [64, 79]);
  assert.deepEqual(resizedSize(86, 69, { kind: 'shortest', shortest: 64 }), [79, 64]);
  assert.deepEqual(resizedSize(100, 400, { kind: 'shortest', shortest: 64, longest: 128 }), [32, 128]);
  assert.deepEqual(centerCropOffset(47, 45, [32, 32], 'pil'), [7, 6]);
  assert.deepEqual(centerCropOffset(47, 49, [32, 32], 'torch'), [8, 8]); // round(7.5) = 8, round(8.5) = 8
  assert.throws(() => centerCropOffset(30, 40, [32, 32], 'pil'), /larger than the resized image/);

  assert.throws(() => parseImageProcessor({ resample: 9 }, 'bad_processor.json'), /bad_processor\.json[\s\S]*resample/);
  assert.throws(() => parseImageProcessor({ image_mean: [0.5, 0.5] }, 'bad_mean.json'), /bad_mean\.json[\s\S]*image_mean/);
  assert.throws(() => parseImageProcessor({ do_center_crop: true, crop_size: { shortest_edge: 10 } }, 'crop.json'), /crop_size/);
  assert.throws(() => parseImageProcessor(null, 'folder'), /no preprocessor_config\.json/);
});
