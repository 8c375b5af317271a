import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { tf, SafetensorsFile, UsageError, encodeImages, disposeOutput, latentFromOutput } from '@raev2/core';
import { loadEncoder } from '@raev2/encoders';
import { featuresCommand } from '@raev2/cli';
import { ROOT, fixtureDir, loadIO, maxAbsDiff, useBackend } from '../helpers/fixtures.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-features-'));

test('features --pixel-values: the dinov2 fixture’s hidden states are reproduced and written atomically', async (t) => {
  await useBackend('wasm');
  const dir = fixtureDir('dinov2');
  const out = path.join(tmp(), 'sub', 'dinov2.safetensors');
  await featuresCommand.run(['--model', dir, '--pixel-values', path.join(dir, 'io.safetensors'), '--out', out, '--batch', '1']);
  const f = SafetensorsFile.open(out);
  const io = loadIO('dinov2');
  assert.deepEqual(f.keys().sort(), ['hidden_states.0', 'hidden_states.1', 'hidden_states.2']);
  for (const k of f.keys()) {
    const d = maxAbsDiff(f.readHost(k).data, io.get(k)!.dataSync());
    t.diagnostic(`${k}: max abs diff ${d.toExponential(2)}`);
    assert.ok(d <= 1e-4, `${k}: max abs diff ${d}`);
    assert.deepEqual(f.info(k).shape, io.get(k)!.shape);
  }
  f.close();
  tf.dispose([...io.values()]);
  assert.deepEqual(fs.readdirSync(path.dirname(out)), ['dinov2.safetensors'], 'no temp file left behind');
});

test('features --pixel-values: other HF fixtures, including SigLIP-2’s extra inputs (spatial_shapes, pixel_attention_mask) and ViT-MAE’s noise', async (t) => {
  await useBackend('wasm');
  for (const family of ['dinov2_with_registers', 'dinov3_vit', 'clip_vision', 'siglip_vision', 'siglip2_vision', 'vit_mae']) {
    const dir = fixtureDir(family);
    const out = path.join(tmp(), `${family}.safetensors`);
    await featuresCommand.run(['--model', dir, '--pixel-values', path.join(dir, 'io.safetensors'), '--out', out, '--batch', '2']);
    const f = SafetensorsFile.open(out);
    const ref = SafetensorsFile.open(path.join(dir, 'io.safetensors'));
    const worst = Math.max(...f.keys().map((k) => maxAbsDiff(f.readHost(k).data, ref.readHost(k).data)));
    t.diagnostic(`${family}: ${f.keys().length} hidden states, max abs diff ${worst.toExponential(2)}`);
    assert.ok(worst <= 1e-4, `${family}: max abs diff ${worst}`);
    f.close();
    ref.close();
  }
});

test('features --images: mobilenetv2-nsfwjs on emoji PNGs, batched, with the multi-layer latent', async () => {
  await useBackend('wasm');
  const src = path.join(ROOT, 'node_modules/emoji-datasource-google/img/google/64');
  const dir = tmp();
  const names = ['1f600.png', '1f431.png', '1f680.png'];
  for (const n of names) fs.copyFileSync(path.join(src, n), path.join(dir, n));
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not an image');
  const out = path.join(tmp(), 'emoji.safetensors');
  const spec = 'mobilenetv2-nsfwjs[res=64,last2]';
  await featuresCommand.run(['--model', spec, '--images', dir, '--out', out, '--batch', '2']);
  const f = SafetensorsFile.open(out);
  assert.deepEqual(f.keys().sort(), ['hidden_states.0', 'hidden_states.1', 'hidden_states.2', 'hidden_states.3', 'latent']);
  assert.deepEqual(f.info('hidden_states.0').shape, [3, 16, 64]);
  assert.deepEqual(f.info('hidden_states.3').shape, [3, 16, 96]);
  assert.deepEqual(f.info('latent').shape, [3, 16, 96]);
  const meta = f.metadata;
  assert.equal(meta.model, spec);
  assert.equal(meta.grid, '4x4');
  assert.equal(meta.latent_layers, '1.2');
  assert.deepEqual(JSON.parse(meta.images), [...names].sort());
  // The same images encoded in one batch, in file-name order, give the same rows.
  const pixels = await Promise.all([...names].sort().map(async (n) => {
    const { data } = await sharp(path.join(dir, n)).flatten({ background: '#ffffff' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return Float32Array.from(data, (v) => v / 255);
  }));
  const images = tf.tensor4d(Float32Array.from(pixels.flatMap((p) => [...p])), [3, 64, 64, 3]);
  const { encoder, selection } = await loadEncoder(spec);
  const ref = encodeImages(encoder, images);
  const z = latentFromOutput(encoder, ref, selection);
  assert.ok(maxAbsDiff(f.readHost('hidden_states.3').data, ref.hiddenStates[3].dataSync()) < 1e-5, 'hidden_states.3 rows');
  assert.ok(maxAbsDiff(f.readHost('latent').data, z.dataSync()) < 1e-5, 'latent rows');
  f.close();
  tf.dispose([images, z]);
  disposeOutput(ref);
  encoder.dispose();
});

test('features: flag and input errors name the flag or file', async () => {
  const run = (args: string[]) => featuresCommand.run(args);
  await assert.rejects(run(['--images', 'x', '--out', 'o.safetensors']), (e: Error) => e instanceof UsageError && /--model/.test(e.message));
  await assert.rejects(run(['--model', 'm', '--out', 'o.safetensors']), /give exactly one of --images and --pixel-values/);
  await assert.rejects(run(['--model', 'm', '--images', 'a', '--pixel-values', 'b', '--out', 'o.safetensors']), /exactly one/);
  await assert.rejects(run(['--model', 'm', '--images', 'a', '--out', 'o.safetensors', '--batch', '0']), /--batch/);
  await assert.rejects(run(['--model', 'm', '--images', 'a', '--out', 'o.safetensors', '--bogus']), /Unknown option '--bogus'/);
  await assert.rejects(run(['--model', 'm', '--images', 'a', '--out', 'o.npy']), /--out o.npy: the output must be a .safetensors file/);
  await assert.rejects(run(['--model', 'mobilenetv2-nsfwjs', '--images', path.join(os.tmpdir(), 'no-such-dir'), '--out', 'o.safetensors']), /--images: .* is not a folder/);
  await assert.rejects(run(['--model', 'mobilenetv2-nsfwjs', '--images', tmp(), '--out', 'o.safetensors']), /--images: no images/);
  await assert.rejects(run(['--model', 'mobilenetv2-nsfwjs', '--pixel-values', 'missing.safetensors', '--out', 'o.safetensors']), /--pixel-values: missing.safetensors not found/);
  const noPx = path.join(tmp(), 'x.safetensors');
  const { saveSafetensors } = await import('@raev2/core');
  saveSafetensors(noPx, { other: tf.zeros([1]) });
  await assert.rejects(run(['--model', 'mobilenetv2-nsfwjs[res=32]', '--pixel-values', noPx, '--out', path.join(tmp(), 'o.safetensors')]), /has no tensor 'pixel_values' \(tensors: other\)/);
});
