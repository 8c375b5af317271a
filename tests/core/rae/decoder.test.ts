import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { tf, Rng, loadDecoder, GeneralDecoder, decoderConfig, bilinearWeights1d, loadSafetensors, type Tensor } from '@raev2/core';
import { fixtureDir, loadIO, assertClose, maxAbsDiff, testBackends, useBackend } from '../../helpers/fixtures.js';

const ATOL = 1e-4;
/** NCHW fixture image → NHWC. */
const nhwc = (x: Tensor) => tf.tidy(() => x.transpose([0, 2, 3, 1]));

for (const backend of testBackends()) {
  test(`rae_decoder fixture: upstream keys load strictly and outputs match (${backend})`, async () => {
    await useBackend(backend);
    const io = loadIO('rae_decoder');
    const before = tf.memory().numTensors;
    const dec = loadDecoder(fixtureDir('rae_decoder'));
    assert.deepEqual(dec.grid, [4, 4]);
    const out = dec.forward(io.get('latent')!, { outputHiddenStates: true });
    const diffs: Record<string, number> = {};
    out.hiddenStates!.forEach((h, i) => {
      diffs[`hidden_states.${i}`] = maxAbsDiff(h, io.get(`hidden_states.${i}`)!);
    });
    diffs.logits = maxAbsDiff(out.logits, io.get('logits')!);
    const img = dec.unpatchify(out.logits);
    const ref = nhwc(io.get('image')!);
    diffs.image = maxAbsDiff(img, ref);
    // latent_2d is the channels-first layout RAE.decode receives: B×C×h×w → B×N×C
    const z2 = tf.tidy(() => io.get('latent_2d')!.reshape([2, 16, 16]).transpose([0, 2, 1]));
    const img2 = dec.decode(z2);
    diffs['image (from latent_2d)'] = maxAbsDiff(img2, ref);
    const interp = dec.forward(io.get('latent_interp')!);
    diffs['interp.logits'] = maxAbsDiff(interp.logits, io.get('interp.logits')!);
    const interpImg = dec.decode(io.get('latent_interp')!);
    const refInterp = nhwc(io.get('interp.image')!);
    diffs['interp.image'] = maxAbsDiff(interpImg, refInterp);
    console.log(`  [${backend}] max abs diffs: ${Object.entries(diffs).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
    for (const [k, v] of Object.entries(diffs)) assert.ok(v <= ATOL, `${k}: ${v} > ${ATOL}`);
    tf.dispose([out.logits, ...out.hiddenStates!, img, ref, z2, img2, interp.logits, interpImg, refInterp]);
    dec.dispose();
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    for (const t of io.values()) t.dispose();
  });
}

test('decoder: state dict keys equal the upstream checkpoint keys; the fixed pos-embed equals the stored one', async () => {
  await useBackend('cpu');
  const sd = loadSafetensors(path.join(fixtureDir('rae_decoder'), 'model.safetensors'));
  const dec = new GeneralDecoder({ hidden_size: 16, decoder_hidden_size: 32, decoder_num_hidden_layers: 2, decoder_num_attention_heads: 2, decoder_intermediate_size: 64, patch_size: 4, num_patches: 16 });
  const mine = dec.stateDict();
  assert.deepEqual([...mine.keys()].sort(), [...sd.keys()].sort());
  for (const [k, t] of sd) assert.deepEqual(mine.get(k)!.shape, t.shape, k);
  assertClose(mine.get('decoder_pos_embed')!, sd.get('decoder_pos_embed')!, 1e-6, 'decoder_pos_embed');
  dec.dispose();
  for (const t of sd.values()) t.dispose();
});

test('decoder: a wrong checkpoint shape is reported by key', async () => {
  await useBackend('cpu');
  const dec = new GeneralDecoder({ hidden_size: 8, decoder_hidden_size: 32, decoder_num_hidden_layers: 2, decoder_num_attention_heads: 2, decoder_intermediate_size: 64, patch_size: 4, num_patches: 16 });
  const sd = loadSafetensors(path.join(fixtureDir('rae_decoder'), 'model.safetensors'));
  assert.throws(() => dec.loadStateDict(sd), /decoder_embed\.weight: expected shape \[32,8\], got \[32,16\]/);
  dec.dispose();
  for (const t of sd.values()) t.dispose();
});

test('decoder: presets, non-square grids, gradients for every parameter through the token resize (wasm)', async () => {
  await useBackend('wasm');
  const cfg = decoderConfig('tiny', 12, [2, 3], 4, { decoder_num_hidden_layers: 1 });
  const dec = new GeneralDecoder(cfg);
  assert.deepEqual(dec.imageSize, [8, 12]);
  const before = tf.memory().numTensors;
  const z = new Rng(1).randn([2, 6, 12]);
  const img = dec.decode(z);
  assert.deepEqual(img.shape, [2, 8, 12, 3]);
  // a 3×3 latent resized onto the 2×3 grid; the loss gradient reaches decoder_embed
  const z9 = new Rng(2).randn([1, 9, 12]);
  const { grads, value } = tf.variableGrads(() => dec.decode(z9).square().mean() as tf.Scalar, dec.trainableParameters());
  assert.ok(Number.isFinite(value.dataSync()[0]));
  assert.equal(Object.keys(grads).length, dec.trainableParameters().length);
  for (const [name, v] of dec.namedParameters()) {
    const g = grads[v.name];
    assert.ok(g && tf.tidy(() => g.isFinite().all().dataSync()[0]) === 1, `${name}: gradient missing or not finite`);
  }
  assert.ok(tf.tidy(() => grads[dec.decoderEmbed.weight.name].abs().sum().dataSync()[0]) > 0);
  tf.dispose([z, img, z9, value, ...Object.values(grads)]);
  assert.equal(tf.memory().numTensors, before);
  dec.dispose();
  assert.equal(decoderConfig('XL', 1024, [16, 16]).decoder_intermediate_size, 4096);
  assert.throws(() => new GeneralDecoder({ ...cfg, decoder_num_attention_heads: 5 }), /divisible/);
});

test('bilinear weights: PyTorch align_corners=False values for 3 → 4 and 4 → 2', () => {
  // torch.nn.functional.interpolate(torch.eye(3)[None,None], size=(4,3)... ) rows: src = (i+0.5)·0.75 − 0.5
  const w = Array.from(bilinearWeights1d(3, 4));
  assert.deepEqual(w, [1, 0, 0, 0.375, 0.625, 0, 0, 0.625, 0.375, 0, 0, 1].map((v) => v));
  assert.deepEqual(Array.from(bilinearWeights1d(4, 2)), [0.5, 0.5, 0, 0, 0, 0, 0.5, 0.5]);
});
