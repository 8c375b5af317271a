import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, Rng, patchify, unpatchify, PatchEmbed, sincos2d, sincos2dTable } from '@raev2/core';
import { checkAll, randArr } from './gradcheck.js';
import { useBackend, assertClose } from '../../helpers/fixtures.js';

const rng = new Rng(5);

test('patchify: rows ordered (C, p, p) like a conv weight, NHWC and NCHW agree; unpatchify inverts (p, p, C) rows', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const [b, hh, ww, c, p] = [2, 4, 6, 3, 2];
  const [h, w] = [hh / p, ww / p];
  tf.tidy(() => {
    const x = rng.randn([b, hh, ww, c]);
    const xv = x.arraySync() as number[][][][];
    const rows = patchify(x, p).arraySync() as number[][][];
    for (let bi = 0; bi < b; bi++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let ch = 0; ch < c; ch++) for (let u = 0; u < p; u++) for (let v = 0; v < p; v++) {
      assert.equal(rows[bi][i * w + j][(ch * p + u) * p + v], xv[bi][i * p + u][j * p + v][ch]);
    }
    assert.deepEqual(patchify(x.transpose([0, 3, 1, 2]), p, 'NCHW').arraySync(), rows);
    // unpatchify takes (p_row, p_col, C) rows: reorder patchify's (C, p, p) then invert exactly
    const pc = patchify(x, p).reshape([b, h * w, c, p, p]).transpose([0, 1, 3, 4, 2]).reshape([b, h * w, p * p * c]);
    assert.deepEqual(unpatchify(pc, h, w, p, c).arraySync(), xv);
    // with one channel both orders coincide: a direct round trip
    const g = x.slice([0, 0, 0, 0], [b, hh, ww, 1]);
    assert.deepEqual(unpatchify(patchify(g, p), h, w, p, 1).arraySync(), g.arraySync());
    assert.throws(() => patchify(rng.randn([1, 5, 4, 3]), 2), /not divisible by patch size 2/);
  });
  assert.equal(tf.memory().numTensors, before);
});

test('PatchEmbed equals tf.conv2d with stride p (weight [D,C,p,p] → filter [p,p,C,D]) on cpu', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const pe = new PatchEmbed(3, 5, 4, { rng: new Rng(1) });
  const sd = { weight: rng.randn([5, 3, 4, 4]), bias: rng.randn([5]) };
  pe.loadStateDict(sd);
  tf.dispose(Object.values(sd));
  tf.tidy(() => {
    const x = rng.randn([2, 8, 12, 3]);
    const conv = tf.conv2d(x as tf.Tensor4D, pe.weight.transpose([2, 3, 1, 0]) as tf.Tensor4D, 4, 'valid').add(pe.bias!);
    assertClose(pe.forward(x), conv.reshape([2, 6, 5]), 1e-5, 'PatchEmbed vs conv2d');
    assertClose(pe.forward(x.transpose([0, 3, 1, 2]), 'NCHW'), conv.reshape([2, 6, 5]), 1e-5, 'PatchEmbed NCHW vs conv2d');
  });
  pe.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('PatchEmbed forward and gradients (image, weight, bias) vs a float64 strided convolution', async () => {
  const [b, hh, ww, c, d, p] = [2, 4, 6, 2, 3, 2];
  const [h, w] = [hh / p, ww / p];
  await checkAll({
    name: 'PatchEmbed',
    make: () => new PatchEmbed(c, d, p),
    params: { weight: randArr(rng, [d, c, p, p], 0.5), bias: randArr(rng, [d], 0.5) },
    inputs: { x: randArr(rng, [b, hh, ww, c]) },
    forward: (m, { x }) => (m as PatchEmbed).forward(x),
    ref: (v) => {
      const y = new Float64Array(b * h * w * d);
      for (let bi = 0; bi < b; bi++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let o = 0; o < d; o++) {
        let s = v.bias[o];
        for (let ch = 0; ch < c; ch++) for (let u = 0; u < p; u++) for (let q = 0; q < p; q++) {
          s += v.x[((bi * hh + i * p + u) * ww + j * p + q) * c + ch] * v.weight[((o * c + ch) * p + u) * p + q];
        }
        y[((bi * h + i) * w + j) * d + o] = s;
      }
      return y;
    },
  });
});

/** MAE's get_2d_sincos_pos_embed in float64: grid = meshgrid(w, h); first half of channels from grid[0] (w). */
function maeSincos(dim: number, gh: number, gw: number, cls: boolean): Float64Array {
  const oneD = (d: number, pos: number[]) => {
    const omega = Array.from({ length: d / 2 }, (_, k) => 1 / 10000 ** (k / (d / 2)));
    return pos.map((x) => [...omega.map((o) => Math.sin(x * o)), ...omega.map((o) => Math.cos(x * o))]);
  };
  const gw0: number[] = [], gh1: number[] = [];
  for (let i = 0; i < gh; i++) for (let j = 0; j < gw; j++) { gw0.push(j); gh1.push(i); }
  const a = oneD(dim / 2, gw0), bb = oneD(dim / 2, gh1);
  const rows = a.map((r, t) => [...r, ...bb[t]]);
  return Float64Array.from([...(cls ? new Array(dim).fill(0) : []), ...rows.flat()]);
}

test('sincos2d matches a float64 recomputation of the MAE formula (non-square grid, with and without CLS row)', async () => {
  await useBackend('cpu');
  for (const [dim, gh, gw, cls] of [[16, 3, 5, false], [8, 4, 4, true], [32, 2, 7, true]] as const) {
    const ref = maeSincos(dim, gh, gw, cls);
    assertClose(sincos2dTable(dim, gh, gw, cls), ref, 1.2e-7, `sincos2dTable(${dim},${gh},${gw},${cls})`);
    const t = sincos2d(dim, gh, gw, cls);
    assert.deepEqual(t.shape, [1, gh * gw + (cls ? 1 : 0), dim]);
    assertClose(t, ref, 1.2e-7, 'sincos2d tensor');
    t.dispose();
  }
  assert.throws(() => sincos2dTable(6, 2, 2), /divisible by 4/);
});
