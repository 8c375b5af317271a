/**
 * The stage-1 GAN as the authors train it: the discriminator learns from fakes re-decoded AFTER the
 * decoder's step, from the noise-free latent, quantised to 8 bits (only D's inputs are quantised); the
 * generator's pass sees unquantised reconstructions of the noisy latent with D in eval mode; D's head
 * convs are spectrally normalised (torch's power iteration, state in the state dict); and the published
 * defaults: no gradient clipping, no DiffAug cutout, spectral norm on, EMA warm-up on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  tf,
  Rng,
  AdamW,
  GeneralDecoder,
  Discriminator,
  TokenConv1d,
  diffAugment,
  loadSafetensors,
  parseStage1Config,
  quantize8bit,
  saveSafetensors,
  stage1Step,
  type DecoderLossTerms,
  type Tensor,
} from '@raev2/core';
import { assertClose, useBackend } from '../../helpers/fixtures.js';

const f64 = (t: Tensor) => Float64Array.from(t.dataSync());

test('stage1Step: D trains on q(dec(z)) re-decoded after the decoder step from the noise-free latent; G sees dec(z̃) unquantised, D in eval mode', async () => {
  await useBackend('cpu');
  const rng = new Rng(3);
  const dec = new GeneralDecoder({ hidden_size: 6, decoder_hidden_size: 16, decoder_num_hidden_layers: 1, decoder_num_attention_heads: 2, decoder_intermediate_size: 32, patch_size: 2, grid: [2, 2] }, { rng });
  const decode = (z: Tensor) => tf.tidy(() => dec.decode(z).mul(0.3).add(0.5));
  const wd = rng.randn([3, 4]);
  const disc = new Discriminator((img) => [tf.tanh(tf.matMul(img.reshape([-1, 3]), wd)).reshape([img.shape[0], -1, 4])], { channels: [4], kernel: 3, rng });
  const seen: { training: boolean; input: Tensor }[] = [];
  const terms: DecoderLossTerms = {
    l1: 1, perceptualWeight: 0, perceptual: null, ganWeight: 0.75, gLoss: 'hinge', dLoss: 'hinge', quantize: true, diffaug: false,
    disc: (x) => {
      seen.push({ training: disc.heads.at(0).training, input: tf.keep(x.clone()) });
      return disc.forward(x);
    },
  };
  const decOpt = new AdamW(dec.namedParameters(), { lr: 0.05, betas: [0.9, 0.95], weightDecay: 0, eps: 1e-8 });
  const discOpt = new AdamW(disc.namedParameters(), { lr: 0.01, betas: [0.9, 0.95], weightDecay: 0, eps: 1e-8 });
  const raw = rng.randn([3, 4, 6]), x = rng.rand([3, 4, 4, 3]);
  const noisy = tf.tidy(() => raw.add(rng.randn([3, 4, 6]).mul(0.5)));
  const beforeNoisy = decode(noisy), beforeRaw = decode(raw);
  const uBefore = f64(disc.stateDict().get('heads.0.first.conv.weight_u')!);
  let emaCalls = 0;
  const scalars = stage1Step({ decode, decoderParams: dec.namedParameters(), decoderOptimizer: decOpt, afterDecoderStep: () => emaCalls++, gradClip: null, disc, discOptimizer: discOpt, terms }, raw, noisy, x, { useGan: true, trainDisc: true }, rng);
  assert.equal(emaCalls, 1);
  assert.ok(Number.isFinite(scalars.lambda) && Number.isFinite(scalars.discLoss) && scalars.gradNorm === undefined, JSON.stringify(scalars));
  // generator pass: one D call in eval mode on dec(z̃) before the step, not quantised
  const gen = seen.filter((s) => !s.training), dis = seen.filter((s) => s.training);
  assert.equal(gen.length, 1);
  assert.equal(dis.length, 1);
  assertClose(gen[0].input, beforeNoisy, 1e-6, 'G pass input = dec(z̃) before the step');
  const offGrid = Array.from(gen[0].input.dataSync()).filter((v) => Math.abs(v * 255 - Math.round(v * 255)) > 1e-3).length;
  assert.ok(offGrid > 10, `the generator's pass is not quantised (${offGrid} values off the 8-bit grid)`);
  // D's update: [x; q(dec(z))] with the decoder AFTER its step, from the noise-free latent
  const afterRaw = decode(raw), afterNoisy = decode(noisy);
  const fakes = dis[0].input.slice([3, 0, 0, 0], [3, -1, -1, -1]);
  assertClose(dis[0].input.slice([0, 0, 0, 0], [3, -1, -1, -1]), x, 0, 'reals unchanged');
  assertClose(fakes, quantize8bit(afterRaw), 1e-6, 'fakes = q(dec_after(z))');
  const gap = (a: Tensor, b: Tensor) => tf.tidy(() => a.sub(quantize8bit(b)).abs().max().dataSync()[0]);
  assert.ok(gap(fakes, beforeRaw) > 0.01, 'the fakes come from the updated decoder');
  assert.ok(gap(fakes, afterNoisy) > 0.01, 'the fakes come from the noise-free latent');
  // spectral norm: D's update ran one power iteration (u moved), the generator's pass none
  const uAfter = f64(disc.stateDict().get('heads.0.first.conv.weight_u')!);
  assert.ok(uAfter.some((v, i) => Math.abs(v - uBefore[i]) > 1e-7), 'u is updated in D\'s own step');
  assert.equal(disc.heads.at(0).training, false, 'D is left in eval mode');
  tf.dispose([...seen.map((s) => s.input), fakes, beforeNoisy, beforeRaw, afterRaw, afterNoisy, raw, x, noisy, wd]);
  decOpt.dispose();
  discOpt.dispose();
  dec.dispose();
  disc.dispose();
});

test('spectral norm on TokenConv1d: torch\'s power iteration in float64, σ → the top singular value, eval mode keeps u, state round-trips', async () => {
  await useBackend('cpu');
  const rng = new Rng(11);
  const conv = new TokenConv1d(4, 3, 3, rng, true);
  const sd = conv.stateDict();
  assert.deepEqual([...sd.keys()].sort(), ['bias', 'weight_orig', 'weight_u', 'weight_v']);
  assert.deepEqual(sd.get('weight_v')!.shape, [12]);
  const W = f64(conv.weight), u0 = f64(sd.get('weight_u')!);
  const n = (a: Float64Array) => { const s = Math.max(Math.hypot(...a), 1e-12); return a.map((v) => v / s); };
  const mv = (a: Float64Array) => n(Float64Array.from({ length: 3 }, (_, r) => a.reduce((s, vc, c) => s + W[r * 12 + c] * vc, 0)));
  const mtv = (a: Float64Array) => n(Float64Array.from({ length: 12 }, (_, c) => a.reduce((s, ur, r) => s + W[r * 12 + c] * ur, 0)));
  // one training forward: v = n(Wᵀu), u = n(Wv), σ = uᵀWv, y = conv(x, W/σ)
  const v1 = mtv(u0), u1 = mv(v1);
  const sigma1 = u1.reduce((s, ur, r) => s + ur * v1.reduce((t, vc, c) => t + W[r * 12 + c] * vc, 0), 0);
  const x = rng.randn([2, 5, 4]);
  const y = conv.forward(x);
  const X = f64(x), B = f64(conv.bias), ref: number[] = [];
  for (let b = 0; b < 2; b++) for (let t = 0; t < 5; t++) for (let o = 0; o < 3; o++) {
    let s = B[o];
    for (let j = 0; j < 3; j++) for (let c = 0; c < 4; c++) s += (W[o * 12 + c * 3 + j] / sigma1) * X[(b * 5 + ((t + j - 1 + 5) % 5)) * 4 + c];
    ref.push(s);
  }
  assertClose(y, ref, 1e-5, 'spectrally normalised conv');
  assertClose(conv.stateDict().get('weight_u')!, u1, 1e-6, 'u after one iteration');
  // eval mode: no iteration
  const uStored = f64(conv.stateDict().get('weight_u')!);
  conv.eval();
  tf.dispose(conv.forward(x));
  assertClose(conv.stateDict().get('weight_u')!, uStored, 0, 'eval keeps u');
  // many training forwards: σ converges to the largest singular value of W_mat (float64 power iteration on W·Wᵀ)
  conv.train();
  for (let i = 0; i < 60; i++) tf.dispose(conv.forward(x));
  const wwt = Float64Array.from({ length: 9 }, (_, k) => { const [a, b] = [Math.floor(k / 3), k % 3]; let s = 0; for (let c = 0; c < 12; c++) s += W[a * 12 + c] * W[b * 12 + c]; return s; });
  let e = new Float64Array([1, 0.5, 0.25]);
  for (let i = 0; i < 500; i++) e = n(Float64Array.from({ length: 3 }, (_, r) => e.reduce((s, ec, c) => s + wwt[r * 3 + c] * ec, 0)));
  const top = Math.sqrt(e.reduce((s, er, r) => s + er * e.reduce((t, ec, c) => t + wwt[r * 3 + c] * ec, 0), 0));
  const u = f64(conv.stateDict().get('weight_u')!), v = f64(conv.stateDict().get('weight_v')!);
  const sigma = u.reduce((s, ur, r) => s + ur * v.reduce((t, vc, c) => t + W[r * 12 + c] * vc, 0), 0);
  assert.ok(Math.abs(sigma - top) < 1e-4 * top, `σ ${sigma} vs top singular value ${top}`);
  // the state (u, v) is saved and restored with the module (a checkpoint holds it)
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-sn-')), 'conv.safetensors');
  saveSafetensors(file, conv.stateDict());
  const other = new TokenConv1d(4, 3, 3, new Rng(99), true);
  const loaded = loadSafetensors(file);
  other.loadStateDict(loaded);
  for (const t of loaded.values()) t.dispose();
  other.eval();
  conv.eval();
  const [ya, yb] = [conv.forward(x), other.forward(x)];
  assertClose(ya, yb, 0, 'restored spectral state gives the same output');
  tf.dispose([x, y, ya, yb]);
  conv.dispose();
  other.dispose();
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
});

test('stage-1 defaults are the published ones: no gradient clipping, no DiffAug cutout, spectral norm on D, EMA warm-up on', async () => {
  await useBackend('cpu');
  const cfg = parseStage1Config({ data: 'folder:x', out: 'y' });
  assert.equal(cfg.gradClip, null);
  assert.equal(cfg.emaWarmup, true);
  assert.equal(cfg.gan.spectralNorm, true);
  assert.ok(cfg.gan.diffaug !== false && cfg.gan.diffaug.cutoutRatio === 0);
  // DiffAugment's own default: cutout leaves the image as it is
  const img = new Rng(2).rand([2, 8, 8, 3]);
  const out = diffAugment(img, new Rng(3), { policies: ['cutout'] });
  assertClose(out, img, 1e-6, 'cutout ratio 0');
  tf.dispose([img, out]);
});
