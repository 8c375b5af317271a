import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@raev2/encoders'; // registers the built-in encoders (the last test uses the offline MobileNetV2)
import { tf, Rng, createRAE, latentStatsOf, listEncoders, createEncoder, encodeImages, disposeOutput, lastK, layerNorm, noiseAugment, GeneralDecoder, decoderConfig } from '@raev2/core';
import { assertClose, useBackend } from '../../helpers/fixtures.js';
import { fakeEncoder } from './fake_encoder.js';

test('RAE encode/decode shapes for several K, standardisation and de-normalisation', async () => {
  await useBackend('cpu');
  const enc = fakeEncoder({ layers: 4, dim: 8, patch: 4, size: [16, 12] });
  const before = tf.memory().numTensors;
  const images = new Rng(1).rand([2, 16, 12, 3]);
  for (const k of [1, 2, 4]) {
    const rae = createRAE({ encoder: enc, selection: { layers: lastK(4, k) }, decoder: { preset: 'tiny', overrides: { decoder_num_hidden_layers: 1, decoder_hidden_size: 16, decoder_num_attention_heads: 2 } } });
    assert.deepEqual(rae.grid, [4, 3]);
    assert.deepEqual(rae.imageSize, [16, 12]);
    const z = rae.encode(images);
    assert.deepEqual(z.shape, [2, 12, 8]);
    // the raw latent is the mean over the selected blocks of the affine-free LN of the patch tokens
    const out = encodeImages(enc, images);
    const manual = tf.tidy(() => {
      const ls = lastK(4, k).map((i) => layerNorm(out.hiddenStates[i + 1].slice([0, 1, 0], [-1, -1, -1]), 1e-6));
      return tf.addN(ls).div(k);
    });
    disposeOutput(out);
    assertClose(z, manual, 1e-6, `K=${k} raw latent`);
    const x = rae.decode(z);
    assert.deepEqual(x.shape, [2, 16, 12, 3]);
    // decode = decoder image · std + mean
    const dn = rae.decoder.decode(z, { latentGrid: [4, 3] });
    const dnd = dn.dataSync(), xd = x.dataSync();
    for (let i = 0; i < xd.length; i++) assert.ok(Math.abs(xd[i] - (dnd[i] * enc.imageStd[i % 3] + enc.imageMean[i % 3])) < 1e-5);
    // with statistics: encode standardises, decode inverts it first
    const stats = latentStatsOf(rae.encoder, rae.selection, [images.clone(), images.clone()]);
    assert.equal(stats.count, 4);
    rae.setStats(stats);
    const zs = rae.encode(images);
    const m = stats.mean!.dataSync(), v = stats.var.dataSync(), zd = z.dataSync();
    assertClose(zs, Array.from(zd, (val, i) => (val - m[i % 96]) / Math.sqrt(v[i % 96] + 1e-5)), 1e-4, 'standardised');
    const xs = rae.decode(zs);
    assertClose(xs, x, 1e-4, 'decode(standardised) = decode(raw) without stats');
    tf.dispose([z, manual, x, dn, zs, xs]);
    rae.dispose();
  }
  images.dispose();
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
  enc.dispose();
});

test('RAE: noise augmentation only in training (or when asked), seeded', async () => {
  await useBackend('cpu');
  const enc = fakeEncoder();
  const mk = () => createRAE({ encoder: enc, selection: { layers: [1, 3], combine: 'sum', global: true }, decoder: { preset: 'tiny', overrides: { decoder_num_hidden_layers: 1 } }, rng: new Rng(9) });
  const a = mk(), b = mk();
  const images = new Rng(2).rand([2, 16, 16, 3]);
  const clean = a.encode(images);
  assertClose(a.encode(images), clean, 0, 'eval mode is deterministic');
  a.training = true;
  b.training = true;
  const na = a.encode(images), nb = b.encode(images);
  assertClose(na, nb, 0, 'same seed, same noise');
  assert.ok(tf.tidy(() => na.sub(clean).abs().max().dataSync()[0]) > 1e-3, 'noise was added');
  assertClose(a.encode(images, { noise: false }), clean, 0, 'noise: false');
  assert.throws(() => createRAE({ encoder: enc, selection: { layers: [4] }, decoder: { preset: 'tiny' } }), /layer 4 is out of range/);
  const wrong = new GeneralDecoder(decoderConfig('tiny', 5, [4, 4], 4, { decoder_num_hidden_layers: 1 }));
  assert.throws(() => createRAE({ encoder: enc, selection: { layers: [3] }, decoder: wrong }), /decoder expects 5 latent channels but the encoder's latent has 8/);
  wrong.dispose();
  a.dispose();
  b.dispose();
  enc.dispose();
});

test('noise augmentation: σ per sample ~ U(0, τ), ε ~ N(0, 1)', async () => {
  await useBackend('cpu');
  const tau = 0.8, bsz = 3000, m = 400;
  const z = tf.fill([bsz, 20, 20], 3);
  const zt = noiseAugment(z, tau, new Rng(11));
  const d = zt.dataSync();
  const sig: number[] = [];
  let k4 = 0, k2 = 0, mean = 0;
  for (let b = 0; b < bsz; b++) {
    let s2 = 0;
    for (let i = 0; i < m; i++) { const e = d[b * m + i] - 3; s2 += e * e; mean += e; }
    const s = Math.sqrt(s2 / m);
    sig.push(s);
    // moments of ε = (z̃ − z)/σ̂ within the sample
    for (let i = 0; i < m; i++) { const e = (d[b * m + i] - 3) / s; k2 += e * e; k4 += e ** 4; }
  }
  mean /= bsz * m;
  const sm = sig.reduce((a, b) => a + b, 0) / bsz;
  const sv = sig.reduce((a, b) => a + (b - sm) ** 2, 0) / bsz;
  const below = (q: number) => sig.filter((s) => s < q * tau).length / bsz;
  console.log(`  σ mean ${sm.toFixed(4)} (τ/2 = ${tau / 2}), var ${sv.toFixed(4)} (τ²/12 = ${(tau * tau / 12).toFixed(4)}), max ${Math.max(...sig).toFixed(3)}, ε mean ${mean.toExponential(2)}, kurtosis ${(k4 / (bsz * m)).toFixed(3)}`);
  assert.ok(Math.abs(sm - tau / 2) < 0.02, `σ mean ${sm}`);
  assert.ok(Math.abs(sv - tau * tau / 12) < 0.006, `σ var ${sv}`);
  assert.ok(Math.max(...sig) < tau * 1.1 && Math.min(...sig) >= 0);
  for (const q of [0.25, 0.5, 0.75]) assert.ok(Math.abs(below(q) - q) < 0.04, `P(σ < ${q}τ) = ${below(q)}`);
  assert.ok(Math.abs(mean) < 0.005, `ε mean ${mean}`);
  assert.ok(Math.abs(k4 / (bsz * m) - 3) < 0.1, `ε kurtosis ${k4 / (bsz * m)} (normal: 3)`);
  tf.dispose([z, zt]);
});

test('RAE with the offline nsfwjs MobileNetV2 encoder that @raev2/encoders registers', async () => {
  assert.ok(listEncoders().some((e) => e.name === 'mobilenetv2-nsfwjs'), 'mobilenetv2-nsfwjs is registered by @raev2/encoders');
  await useBackend('wasm');
  const enc = await createEncoder('mobilenetv2-nsfwjs');
  try {
    for (const k of [1, 3]) {
      const rae = createRAE({ encoder: enc, selection: { layers: lastK(enc.numLayers, k) }, decoder: { preset: 'tiny', overrides: { decoder_num_hidden_layers: 1, decoder_hidden_size: 32, decoder_num_attention_heads: 2 } } });
      const images = new Rng(1).rand([1, enc.imageSize[0], enc.imageSize[1], 3]);
      const z = rae.encode(images);
      assert.deepEqual(z.shape, [1, rae.numTokens, rae.channels]);
      const x = rae.decode(z);
      assert.deepEqual(x.shape, [1, ...rae.imageSize, 3]);
      console.log(`  mobilenetv2 K=${k}: grid ${rae.grid.join('×')}, C=${rae.channels}, image ${rae.imageSize.join('×')}`);
      tf.dispose([images, z, x]);
      rae.dispose();
    }
  } finally {
    enc.dispose();
  }
});
