import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf, disposeOutput, latentFromOutput, type Encoder } from '@raev2/core';
import { listEncoders, createEncoder, registerEncoder, loadEncoder, registryName, HF_ENCODERS } from '@raev2/encoders';
import { fixtureDir, loadIO, assertClose, useBackend } from '../helpers/fixtures.js';

test('registry: the published names are registered with descriptions and hub ids', () => {
  const byName = new Map(listEncoders().map((e) => [e.name, e]));
  const expected = [
    'dinov2-vit-s14', 'dinov2-vit-b14', 'dinov2-vit-l14', 'dinov2-vit-g14',
    'dinov2-vit-s14reg', 'dinov2-vit-b14reg', 'dinov2-vit-l14reg', 'dinov2-vit-g14reg',
    'dinov3-vit-s16', 'dinov3-vit-b16', 'dinov3-vit-l16',
    'siglip2-vit-b16-224', 'siglip2-vit-b16-256', 'siglip2-vit-b16-384', 'siglip2-vit-b16-512', 'siglip2-vit-so400m14-384',
    'siglip-vit-b16-224', 'mae-vit-b16', 'mae-vit-l16', 'mae-vit-h14', 'clip-vit-b16', 'clip-vit-b32', 'clip-vit-l14',
    'mobilenetv2-nsfwjs', 'inceptionv3-nsfwjs', 'hf*', 'onnx*',
  ];
  for (const n of expected) {
    assert.ok(byName.has(n), `${n} is registered`);
    assert.ok(byName.get(n)!.description.length > 10, `${n} has a description`);
  }
  assert.equal(HF_ENCODERS['dinov2-vit-b14reg'].id, 'facebook/dinov2-with-registers-base');
  assert.equal(HF_ENCODERS['dinov2-vit-g14'].id, 'facebook/dinov2-giant');
  assert.equal(HF_ENCODERS['dinov3-vit-l16'].id, 'facebook/dinov3-vitl16-pretrain-lvd1689m');
  assert.equal(HF_ENCODERS['siglip2-vit-so400m14-384'].id, 'google/siglip2-so400m-patch14-384');
  assert.equal(HF_ENCODERS['clip-vit-l14'].id, 'openai/clip-vit-large-patch14');
  assert.match(byName.get('dinov3-vit-l16')!.description, /facebook\/dinov3-vitl16-pretrain-lvd1689m/);
});

test('registry: folders, .onnx files and hub ids route to hf:/onnx:; unknown names list what exists', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-reg-'));
  fs.writeFileSync(path.join(dir, 'm.onnx'), '');
  assert.equal(registryName(dir), `hf:${dir}`);
  assert.equal(registryName(path.join(dir, 'm.onnx')), `onnx:${path.join(dir, 'm.onnx')}`);
  fs.mkdirSync(path.join(dir, 'export', 'onnx'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'export', 'onnx', 'model.onnx'), '');
  assert.equal(registryName(path.join(dir, 'export')), `onnx:${path.join(dir, 'export')}`, 'an optimum export folder');
  assert.equal(registryName('facebook/dinov2-small'), 'hf:facebook/dinov2-small');
  assert.equal(registryName('dinov2-vit-b14'), 'dinov2-vit-b14');
  assert.equal(registryName('hf:x'), 'hf:x');
  assert.equal(registryName('hfoo'), 'hfoo'); // only the hf: form belongs to the hf* entry
  await assert.rejects(createEncoder('hfoo'), /write hf:<folder-or-hub-id>/);
  await assert.rejects(loadEncoder('no-such-encoder[last2]'), /unknown encoder "no-such-encoder"; registered: .*mobilenetv2-nsfwjs/);
  await assert.rejects(loadEncoder('mobilenetv2-nsfwjs[stage=99]'), /unknown stage '99' \(stages: 6-9 = blocks 6–9/);
  await assert.rejects(loadEncoder('mobilenetv2-nsfwjs[bogus=1]'), /has no option 'bogus'/);
});

test('registry: a user encoder plugs in by name and gets its options and layer selection', async () => {
  const seen: Record<string, unknown>[] = [];
  registerEncoder('toy-enc', async (name, options) => {
    seen.push({ name, ...options });
    const enc: Encoder = {
      name, numLayers: 4, hiddenSize: 2, patchSize: 1, imageSize: [2, 2], imageMean: [0, 0, 0], imageStd: [1, 1, 1],
      preprocess: (x) => x.clone(),
      forward: (x) => ({ hiddenStates: Array.from({ length: 5 }, (_, i) => x.reshape([x.shape[0], -1, 3]).slice([0, 0, 0], [-1, -1, 2]).mul(i + 1)), grid: [2, 2], prefixTokens: 0 }),
      latentNorm: (h) => h.clone(),
      dispose: () => {},
    };
    return enc;
  }, 'a test encoder');
  const { encoder, selection, spec } = await loadEncoder('toy-enc[last2,combine=sum,alpha=3]');
  assert.deepEqual(seen, [{ name: 'toy-enc', alpha: '3' }]);
  assert.deepEqual(selection, { layers: [2, 3], combine: 'sum', global: false });
  assert.equal(spec.name, 'toy-enc');
  const x = tf.ones([1, 2, 2, 3]);
  const out = encoder.forward(x);
  const z = latentFromOutput(encoder, out, selection);
  assertClose(z, tf.fill([1, 4, 2], 4 + 5), 0, 'sum of blocks 2 and 3 (hidden states 3 and 4)');
  tf.dispose([x, z]);
  disposeOutput(out);
  await assert.rejects(loadEncoder('toy-enc[layers=4]'), /layer 4 is out of range: the encoder has blocks 0…3/);
});

test('registry: an HF fixture folder loads through hf:<folder>[…] and reproduces its hidden states', async () => {
  await useBackend('wasm');
  const dir = fixtureDir('dinov2');
  const { encoder, selection } = await loadEncoder(`hf:${dir}[layers=all]`);
  assert.equal(encoder.numLayers, 2);
  assert.deepEqual(selection.layers, [0, 1]);
  const io = loadIO('dinov2');
  const out = encoder.forward(io.get('pixel_values')!);
  out.hiddenStates.forEach((h, i) => assertClose(h, io.get(`hidden_states.${i}`)!, 1e-4, `hidden_states.${i}`));
  disposeOutput(out);
  tf.dispose([...io.values()]);
  encoder.dispose();
  // A plain folder path works too (routed to hf:), with res= passed to the loader.
  const again = await loadEncoder(`${dir}[res=28]`);
  assert.deepEqual(again.encoder.imageSize, [28, 28]);
  again.encoder.dispose();
});
