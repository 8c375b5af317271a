import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  tf,
  Rng,
  GeneralDecoder,
  Discriminator,
  LAST_LAYER,
  decoderGrads,
  discriminatorGrads,
  diffAugment,
  discriminatorLoss,
  generatorLoss,
  l1Loss,
  perceptualLoss,
  quantize8bit,
  type DecoderLossTerms,
  type Tensor,
} from '@raev2/core';
import { assertClose, useBackend } from '../../helpers/fixtures.js';

const norm64 = (t: Tensor) => Math.sqrt(Array.from(t.dataSync()).reduce((s, v) => s + v * v, 0));

function setup() {
  const rng = new Rng(21);
  const dec = new GeneralDecoder({ hidden_size: 6, decoder_hidden_size: 16, decoder_num_hidden_layers: 1, decoder_num_attention_heads: 2, decoder_intermediate_size: 32, patch_size: 2, grid: [2, 2] }, { rng });
  const decode = (z: Tensor) => tf.tidy(() => dec.decode(z).mul(0.3).add(0.5)); // a fixed de-normalisation, as RAE.denormalize
  const wf = rng.randn([3, 5]), wd = rng.randn([3, 4]);
  const feats = (img: Tensor) => [tf.matMul(img.reshape([-1, 3]), wf).reshape([img.shape[0], -1, 5])];
  const backbone = (img: Tensor) => [tf.tanh(tf.matMul(img.reshape([-1, 3]), wd)).reshape([img.shape[0], -1, 4])];
  const disc = new Discriminator(backbone, { channels: [4], kernel: 3, rng });
  disc.eval(); // fixed spectral-norm vectors: every forward below sees the same D
  const terms: DecoderLossTerms = {
    l1: 1,
    perceptualWeight: 0.7,
    perceptual: (a, b) => perceptualLoss(feats, a, b),
    ganWeight: 0.75,
    disc: (x) => disc.forward(x),
    gLoss: 'hinge',
    dLoss: 'hinge',
    quantize: true,
    diffaug: { policies: ['color', 'translation', 'cutout'] },
  };
  const z = rng.randn([3, 4, 6]), x = rng.rand([3, 4, 4, 3]);
  return { dec, decode, disc, terms, z, x, dispose: () => { dec.dispose(); disc.dispose(); tf.dispose([wf, wd, z, x]); } };
}

test('decoderGrads: λ equals the autograd ratio ‖∇_W L_rec‖/(‖∇_W L_G‖ + 1e-6) and the gradient is that of L_rec + w_g·λ·L_G', async () => {
  await useBackend('cpu');
  const s = setup();
  const params = s.dec.namedParameters();
  const W = params.find(([n]) => n === LAST_LAYER)![1];
  const before = tf.memory().numTensors;
  const got = decoderGrads(s.decode, params, s.z, s.x, s.terms, true, new Rng(5));
  // reference: each loss on its own, with its own tf.grads w.r.t. W, norms in float64
  const lRec = () => tf.tidy(() => l1Loss(s.decode(s.z), s.x).add(s.terms.perceptual!(s.decode(s.z), s.x).mul(0.7)) as tf.Scalar);
  // the generator's pass is not quantised: only D's own update quantises its fakes
  const lGan = (rng: Rng) => () => tf.tidy(() => generatorLoss(s.disc.forward(diffAugment(s.decode(s.z), rng, s.terms.diffaug as object)), 'hinge'));
  const gRec = tf.variableGrads(lRec, [W]), gGan = tf.variableGrads(lGan(new Rng(5)), [W]);
  const lambda = norm64(gRec.grads[W.name]) / (norm64(gGan.grads[W.name]) + 1e-6);
  console.log(`  λ = ${got.scalars.lambda} (autograd reference ${lambda})`);
  assert.ok(Math.abs(got.scalars.lambda - lambda) <= 1e-5 * lambda, `λ ${got.scalars.lambda} vs ${lambda}`);
  assert.ok(lambda > 0 && Number.isFinite(lambda));
  const total = tf.variableGrads(() => tf.tidy(() => lRec().add(lGan(new Rng(5))().mul(0.75 * lambda))) as tf.Scalar, params.map(([, v]) => v));
  for (const [name, v] of params) {
    const ref = total.grads[v.name];
    const scale = Math.max(1e-3, tf.tidy(() => ref.abs().max().dataSync()[0]));
    assertClose(got.grads.get(name)!, ref, 2e-5 * scale, `∇ ${name}`);
  }
  assert.equal(got.scalars.gan, gGan.value.dataSync()[0]);
  tf.dispose([...got.grads.values(), gRec.value, gGan.value, total.value, ...Object.values(gRec.grads), ...Object.values(gGan.grads), ...Object.values(total.grads)]);
  assert.equal(tf.memory().numTensors, before, 'decoderGrads leaks');
  // before ganStart: the plain reconstruction gradient, no λ
  const rec = decoderGrads(s.decode, params, s.z, s.x, s.terms, false, new Rng(5));
  assert.equal(rec.scalars.lambda, undefined);
  const ref = tf.variableGrads(lRec, params.map(([, v]) => v));
  for (const [name, v] of params) {
    const scale = Math.max(1e-3, tf.tidy(() => ref.grads[v.name].abs().max().dataSync()[0]));
    assertClose(rec.grads.get(name)!, ref.grads[v.name], 2e-5 * scale, `∇ ${name} (no GAN)`);
  }
  tf.dispose([...rec.grads.values(), ref.value, ...Object.values(ref.grads)]);
  s.dispose();
});

test('discriminatorGrads: hinge loss of D(aug(x)) vs D(aug(q(x̂))) and its gradient w.r.t. the heads', async () => {
  await useBackend('cpu');
  const s = setup();
  const fakes = s.decode(s.z);
  const params = s.disc.namedParameters();
  const got = discriminatorGrads(s.terms.disc!, params, s.x, fakes, s.terms, new Rng(9));
  const rng = new Rng(9);
  const real = diffAugment(s.x, rng, s.terms.diffaug as object), fake = diffAugment(quantize8bit(fakes), rng, s.terms.diffaug as object);
  const ref = tf.variableGrads(() => discriminatorLoss(s.disc.forward(real), s.disc.forward(fake), 'hinge'), params.map(([, v]) => v));
  assert.ok(Math.abs(got.scalars.discLoss - ref.value.dataSync()[0]) < 1e-6, `${got.scalars.discLoss} vs ${ref.value.dataSync()[0]}`);
  for (const [name, v] of params) assertClose(got.grads.get(name)!, ref.grads[v.name], 1e-5, `∇ ${name}`);
  assert.ok(got.scalars.discAccuracy >= 0 && got.scalars.discAccuracy <= 1);
  tf.dispose([fakes, real, fake, ref.value, ...Object.values(ref.grads), ...got.grads.values()]);
  s.dispose();
});
