import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, Linear, LayerNorm, RMSNorm, Mlp, SwiGLU, activation, gelu, geluTanh, quickGelu, silu, layerNorm, rmsNorm, type Module } from '@raev2/core';
import { checkAll, randArr } from './gradcheck.js';
import { act64, erf, layerNorm64, linear64, rmsNorm64 } from './ref64.js';

const rng = new Rng(7);

test('float64 erf reference is accurate (known values)', () => {
  assert.ok(Math.abs(erf(0.5) - 0.5204998778130465) < 1e-15);
  assert.ok(Math.abs(erf(-1.5) + 0.9661051464753108) < 1e-15);
  assert.ok(Math.abs(erf(3.5) - 0.9999992569016276) < 1e-15);
});

test('Linear: forward and gradients (input, weight, bias) vs float64; wasm = cpu; no leaks', async () => {
  for (const bias of [true, false]) {
    const params = { weight: randArr(rng, [3, 5], 0.5), ...(bias ? { bias: randArr(rng, [3], 0.5) } : {}) };
    const r = await checkAll({
      name: `Linear(bias=${bias})`,
      make: () => new Linear(5, 3, { bias }),
      params,
      inputs: { x: randArr(rng, [2, 4, 5]) },
      forward: (m, { x }) => (m as Linear).forward(x),
      ref: (v) => linear64(v.x, v.weight, bias ? v.bias : null, 5, 3),
    });
    assert.ok(r.gradErr < 1e-4);
  }
});

test('LayerNorm (affine, affine without bias, no affine) and functional layerNorm vs float64', async () => {
  const d = 6;
  for (const [affine, bias] of [[true, true], [true, false], [false, false]] as const) {
    const params = affine ? { weight: randArr(rng, [d], 0.5, 1), ...(bias ? { bias: randArr(rng, [d], 0.5) } : {}) } : undefined;
    await checkAll({
      name: `LayerNorm(affine=${affine}, bias=${bias})`,
      make: () => new LayerNorm(d, 1e-5, affine, bias),
      params,
      inputs: { x: randArr(rng, [2, 3, d], 2, 0.5) },
      forward: (m, { x }) => (m as LayerNorm).forward(x),
      ref: (v) => layerNorm64(v.x, d, 1e-5, v.weight, v.bias),
    });
  }
  await checkAll({
    name: 'layerNorm(eps=1e-6)',
    inputs: { x: randArr(rng, [4, d]) },
    forward: (_, { x }) => layerNorm(x, 1e-6),
    ref: (v) => layerNorm64(v.x, d, 1e-6),
  });
});

test('RMSNorm (affine and not) and functional rmsNorm vs float64', async () => {
  const d = 8;
  for (const affine of [true, false]) {
    await checkAll({
      name: `RMSNorm(affine=${affine})`,
      make: () => new RMSNorm(d, 1e-6, affine),
      params: affine ? { weight: randArr(rng, [d], 0.5, 1) } : undefined,
      inputs: { x: randArr(rng, [3, d]) },
      forward: (m, { x }) => (m as RMSNorm).forward(x),
      ref: (v) => rmsNorm64(v.x, d, 1e-6, v.weight),
    });
  }
  await checkAll({ name: 'rmsNorm', inputs: { x: randArr(rng, [2, d]) }, forward: (_, { x }) => rmsNorm(x, 1e-5), ref: (v) => rmsNorm64(v.x, d, 1e-5) });
});

test('activations (gelu, gelu_pytorch_tanh, quick_gelu, silu, relu) vs float64, by function and by HF name', async () => {
  const fns = { gelu, gelu_pytorch_tanh: geluTanh, quick_gelu: quickGelu, silu, relu: activation('relu') };
  for (const [name, f] of Object.entries(fns)) {
    assert.equal(activation(name), f);
    // relu is not differentiable at 0; random normals never hit it exactly (FD step 1e-5 could cross it: keep |x| > 1e-3)
    const x = randArr(rng, [40], 2);
    for (let i = 0; i < x.data.length; i++) if (Math.abs(x.data[i]) < 1e-3) x.data[i] = 0.5;
    await checkAll({ name, inputs: { x }, forward: (_, { x: t }) => f(t), ref: (v) => v.x.map(act64[name]) });
  }
  assert.throws(() => activation('nope'), /unsupported activation "nope"/);
});

test('Mlp (fc1 → gelu → fc2, custom names and outDim) vs float64', async () => {
  const [d, hdim, out] = [4, 6, 3];
  const params = { lin1: randArr(rng, [hdim, d], 0.5), 'lin1.b': randArr(rng, [hdim], 0.3) };
  const sd = { 'up.weight': params.lin1, 'up.bias': params['lin1.b'], 'down.weight': randArr(rng, [out, hdim], 0.5), 'down.bias': randArr(rng, [out], 0.3) };
  await checkAll({
    name: 'Mlp',
    make: () => new Mlp(d, hdim, gelu, { names: ['up', 'down'], outDim: out }),
    params: sd,
    inputs: { x: randArr(rng, [2, 3, d]) },
    forward: (m, { x }) => (m as Mlp).forward(x),
    ref: (v) => linear64(linear64(v.x, v['up.weight'], v['up.bias'], d, hdim).map(act64.gelu), v['down.weight'], v['down.bias'], hdim, out),
  });
});

test('SwiGLU (w12 fused gate+value, w3) vs float64', async () => {
  const [d, hdim] = [4, 5];
  await checkAll({
    name: 'SwiGLU',
    make: () => new SwiGLU(d, hdim),
    params: { 'w12.weight': randArr(rng, [2 * hdim, d], 0.5), 'w12.bias': randArr(rng, [2 * hdim], 0.3), 'w3.weight': randArr(rng, [d, hdim], 0.5), 'w3.bias': randArr(rng, [d], 0.3) },
    inputs: { x: randArr(rng, [3, d]) },
    forward: (m: Module | undefined, { x }) => (m as SwiGLU).forward(x),
    ref: (v) => {
      const h = linear64(v.x, v['w12.weight'], v['w12.bias'], d, 2 * hdim);
      const rows = h.length / (2 * hdim);
      const g = new Float64Array(rows * hdim);
      // first half is the gate (silu), second half the value, as torch.chunk(2, -1)
      for (let r = 0; r < rows; r++) for (let i = 0; i < hdim; i++) g[r * hdim + i] = act64.silu(h[r * 2 * hdim + i]) * h[r * 2 * hdim + hdim + i];
      return linear64(g, v['w3.weight'], v['w3.bias'], hdim, d);
    },
  });
});
