import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, Rng, parseWith } from '@raev2/core';
import { Dinov3Model, Dinov3ConfigSchema, disposeViTOutput } from '@raev2/encoders';
import { checkFamilyAgainstFixture } from './hf_fixture.js';
import { assertClose } from '../helpers/fixtures.js';

test('DINOv3ViTModel reproduces every HF output (RoPE on patches, registers, no key bias), also on a 3×5 grid', async (t) => {
  const worst = await checkFamilyAgainstFixture('dinov3_vit');
  t.diagnostic(`max abs diff per backend: ${JSON.stringify(worst)}`);
});

test('DINOv3 gated MLP (use_gated_mlp, 7B-style): HF key names, act(gate)·up → down against a float64 recomputation, no registers', async () => {
  const c = parseWith(Dinov3ConfigSchema, { model_type: 'dinov3_vit', hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1, num_attention_heads: 2, patch_size: 4, image_size: 8, use_gated_mlp: true, hidden_act: 'silu' }, 'test config');
  const model = new Dinov3Model(c);
  const shapes = new Map(model.namedParameters().map(([k, v]) => [k, v.shape]));
  assert.deepEqual(shapes.get('layer.0.mlp.gate_proj.weight'), [24, 16]);
  assert.deepEqual(shapes.get('layer.0.mlp.up_proj.weight'), [24, 16]);
  assert.deepEqual(shapes.get('layer.0.mlp.down_proj.weight'), [16, 24]);
  assert.ok(!shapes.has('layer.0.attention.k_proj.bias'), 'key_bias defaults to false');
  const rng = new Rng(5);
  const sd = new Map(model.namedParameters().map(([k, v]) => [k, tf.tensor(rng.normalArray(v.size, 0, 0.3), v.shape)]));
  model.loadStateDict(sd);
  const mlp = model.layers.at(0).mlp;
  const x = rng.normalArray(3 * 16, 0, 1);
  const y = tf.tidy(() => mlp.forward(tf.tensor2d(x, [3, 16])).dataSync());
  const W = (k: string) => sd.get(`layer.0.mlp.${k}`)!.dataSync();
  const [g, gb, u, ub, d, db] = [W('gate_proj.weight'), W('gate_proj.bias'), W('up_proj.weight'), W('up_proj.bias'), W('down_proj.weight'), W('down_proj.bias')];
  const expected: number[] = [];
  for (let r = 0; r < 3; r++) {
    const h = Array.from({ length: 24 }, (_, j) => {
      let a = gb[j], b = ub[j];
      for (let i = 0; i < 16; i++) { a += g[j * 16 + i] * x[r * 16 + i]; b += u[j * 16 + i] * x[r * 16 + i]; }
      return (a / (1 + Math.exp(-a))) * b;
    });
    for (let o = 0; o < 16; o++) expected.push(h.reduce((s, v, j) => s + v * d[o * 24 + j], db[o]));
  }
  assertClose(y, expected, 1e-4, 'gated MLP');
  const out = model.forward(tf.randomNormal([2, 3, 8, 8], 0, 1, 'float32', 2));
  assert.deepEqual([out.prefixTokens, out.hiddenStates[1].shape], [1, [2, 5, 16]]);
  assert.ok(out.lastHiddenState.dataSync().every(Number.isFinite));
  disposeViTOutput(out);
  model.dispose();
  tf.dispose([...sd.values()]);
});
