import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, Rope, modulate, gate, GaussianFourierEmbedding, LabelEmbedder, Embedding } from '@raev2/core';
import { checkAll, randArr } from './gradcheck.js';
import { act64, linear64 } from './ref64.js';
import { useBackend } from '../../helpers/fixtures.js';

const rng = new Rng(21);

test('Rope (2-D, interleaved pairs; rows then columns; trailing tokens unrotated) vs float64', async () => {
  const [B, H, Dh, gh, gw, cond] = [1, 2, 8, 2, 3, 1];
  const N = gh * gw + cond + 1; // one token beyond the table: also unrotated
  await checkAll({
    name: 'Rope',
    make: () => new Rope(Dh, gh, gw, cond),
    inputs: { x: randArr(rng, [B, H, N, Dh]) },
    forward: (m, { x }) => (m as Rope).forward(x),
    ref: (v) => {
      const d = Dh / 2;
      const omega = Array.from({ length: d / 2 }, (_, k) => 1 / 10000 ** ((2 * k) / d));
      const y = Float64Array.from(v.x);
      for (let h = 0; h < B * H; h++) {
        for (let t = 0; t < gh * gw; t++) {
          const [i, j] = [Math.floor(t / gw), t % gw];
          const o = (h * N + t) * Dh;
          for (let k = 0; k < d / 2; k++) {
            for (const [base, pos] of [[2 * k, i], [d + 2 * k, j]]) {
              const [c, s] = [Math.cos(pos * omega[k]), Math.sin(pos * omega[k])];
              const [a, b] = [v.x[o + base], v.x[o + base + 1]];
              y[o + base] = a * c - b * s;
              y[o + base + 1] = b * c + a * s;
            }
          }
        }
      }
      return y;
    },
  });
});

test('modulate (per-sample and per-token shift/scale) and gate vs float64', async () => {
  const [B, N, D] = [2, 3, 4];
  const idx = (b: number, n: number, d: number, perToken: boolean) => (perToken ? (b * N + n) * D + d : b * D + d);
  for (const perToken of [false, true]) {
    const cs = perToken ? [B, N, D] : [B, D];
    await checkAll({
      name: `modulate+gate(perToken=${perToken})`,
      inputs: { x: randArr(rng, [B, N, D]), shift: randArr(rng, cs), scale: randArr(rng, cs, 0.5), g: randArr(rng, cs) },
      forward: (_, { x, shift, scale, g }) => gate(modulate(x, shift, scale), g),
      ref: (v) => {
        const y = new Float64Array(B * N * D);
        for (let b = 0; b < B; b++) for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) {
          const c = idx(b, n, d, perToken);
          y[(b * N + n) * D + d] = (v.x[(b * N + n) * D + d] * (1 + v.scale[c]) + v.shift[c]) * v.g[c];
        }
        return y;
      },
    });
  }
  await checkAll({
    name: 'modulate(no shift)',
    inputs: { x: randArr(rng, [B, N, D]), scale: randArr(rng, [B, D]) },
    forward: (_, { x, scale }) => modulate(x, null, scale),
    ref: (v) => v.x.map((x, i) => x * (1 + v.scale[Math.floor(i / (N * D)) * D + (i % D)])),
  });
});

test('GaussianFourierEmbedding tokens (Fourier features → Linear → SiLU → Linear + learned tokens) vs float64', async () => {
  const [D, E, T] = [4, 3, 2];
  await checkAll({
    name: 'GaussianFourierEmbedding',
    make: () => new GaussianFourierEmbedding(D, { numTokens: T, embeddingSize: E }),
    params: {
      'mlp.0.weight': randArr(rng, [D, 2 * E], 0.5), 'mlp.0.bias': randArr(rng, [D], 0.3),
      'mlp.2.weight': randArr(rng, [D, D], 0.5), 'mlp.2.bias': randArr(rng, [D], 0.3),
      learnable_tokens: randArr(rng, [T, D], 0.5),
    },
    buffers: { W: randArr(rng, [E]) },
    inputs: { t: { shape: [3], data: Float64Array.from([0.1, 0.5, 0.93].map(Math.fround)) } },
    forward: (m, { t }) => (m as GaussianFourierEmbedding).tokens(t),
    ref: (v) => {
      const feats = new Float64Array(3 * 2 * E);
      for (let b = 0; b < 3; b++) for (let e = 0; e < E; e++) {
        const a = 2 * Math.PI * v.t[b] * v.W[e];
        feats[b * 2 * E + e] = Math.sin(a);
        feats[b * 2 * E + E + e] = Math.cos(a);
      }
      const emb = linear64(linear64(feats, v['mlp.0.weight'], v['mlp.0.bias'], 2 * E, D).map(act64.silu), v['mlp.2.weight'], v['mlp.2.bias'], D, D);
      const y = new Float64Array(3 * T * D);
      for (let b = 0; b < 3; b++) for (let n = 0; n < T; n++) for (let d = 0; d < D; d++) y[(b * T + n) * D + d] = v.learnable_tokens[n * D + d] + emb[b * D + d];
      return y;
    },
  });
});

test('LabelEmbedder tokens (table lookup incl. the null class + learned tokens) vs float64; table gets gradients', async () => {
  const [C, D, T] = [3, 4, 2];
  const labels = [2, 0, 3, 2]; // 3 = null class
  await checkAll({
    name: 'LabelEmbedder',
    make: () => new LabelEmbedder(C, D, { numTokens: T }),
    params: { 'embedding_table.weight': randArr(rng, [C + 1, D]), learnable_tokens: randArr(rng, [T, D]) },
    inputs: {},
    consts: { labels: { shape: [labels.length], data: Float64Array.from(labels) } },
    forward: (m, { labels: l }) => (m as LabelEmbedder).tokens(l),
    ref: (v) => {
      const y = new Float64Array(labels.length * T * D);
      labels.forEach((l, b) => {
        for (let n = 0; n < T; n++) for (let d = 0; d < D; d++) y[(b * T + n) * D + d] = v.learnable_tokens[n * D + d] + v['embedding_table.weight'][l * D + d];
      });
      return y;
    },
  });
  await useBackend('cpu');
  const e = new Embedding(3, 2);
  assert.throws(() => e.forward([0, 3]), /embedding index 3 out of range \[0, 3\)/);
  e.dispose();
});
