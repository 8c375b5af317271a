import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, Rng, parseWith } from '@raev2/core';
import { Dinov2Model, Dinov2ConfigSchema } from '@raev2/encoders';
import { checkFamilyAgainstFixture } from './hf_fixture.js';
import { assertClose } from '../helpers/fixtures.js';

test('Dinov2Model reproduces every HF output, incl. the bicubic position resize to 3×5 (interp.*)', async (t) => {
  const worst = await checkFamilyAgainstFixture('dinov2');
  t.diagnostic(`max abs diff per backend: ${JSON.stringify(worst)}`);
});

test('Dinov2WithRegistersModel reproduces every HF output, incl. the antialiased position resize (interp.*)', async (t) => {
  const worst = await checkFamilyAgainstFixture('dinov2_with_registers');
  t.diagnostic(`max abs diff per backend: ${JSON.stringify(worst)}`);
});

test('DINOv2 SwiGLU FFN (use_swiglu_ffn, giant-style): HF key names and hidden width, silu(x₁)·x₂ against a float64 recomputation', () => {
  const c = parseWith(Dinov2ConfigSchema, { model_type: 'dinov2', hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, patch_size: 4, image_size: 8, use_swiglu_ffn: true }, 'test config');
  const model = new Dinov2Model(c);
  const shapes = new Map(model.namedParameters().map(([k, v]) => [k, v.shape]));
  // hidden = (int(int(32·4)·2/3) + 7) // 8 · 8 = 88
  assert.deepEqual(shapes.get('encoder.layer.0.mlp.weights_in.weight'), [176, 32]);
  assert.deepEqual(shapes.get('encoder.layer.0.mlp.weights_out.weight'), [32, 88]);
  const rng = new Rng(9);
  const sd = new Map(model.namedParameters().map(([k, v]) => [k, tf.tensor(rng.normalArray(v.size, 0, 0.2), v.shape)]));
  model.loadStateDict(sd);
  const x = rng.normalArray(2 * 32, 0, 1);
  const y = tf.tidy(() => model.layers.at(0).mlp.forward(tf.tensor2d(x, [2, 32])).dataSync());
  const [wi, bi, wo, bo] = ['weights_in.weight', 'weights_in.bias', 'weights_out.weight', 'weights_out.bias'].map((k) => sd.get(`encoder.layer.0.mlp.${k}`)!.dataSync());
  const expected: number[] = [];
  for (let r = 0; r < 2; r++) {
    const z = Array.from({ length: 176 }, (_, j) => { let s = bi[j]; for (let i = 0; i < 32; i++) s += wi[j * 32 + i] * x[r * 32 + i]; return s; });
    const h = Array.from({ length: 88 }, (_, j) => (z[j] / (1 + Math.exp(-z[j]))) * z[88 + j]);
    for (let o = 0; o < 32; o++) expected.push(h.reduce((s, v, j) => s + v * wo[o * 88 + j], bo[o]));
  }
  assertClose(y, expected, 1e-4, 'SwiGLU FFN');
  model.dispose();
  tf.dispose([...sd.values()]);
});
