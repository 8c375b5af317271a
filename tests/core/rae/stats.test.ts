import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf, Rng, Welford, standardize, destandardize, saveStats, loadStats, saveSafetensors, disposeStats, STATS_EPS } from '@raev2/core';
import { assertClose, useBackend } from '../../helpers/fixtures.js';

/** Two-pass float64 mean and population variance over the leading axis of rows [S][M]. */
function twoPass(rows: number[][]): { mean: number[]; variance: number[] } {
  const m = rows[0].length, s = rows.length;
  const mean = Array.from({ length: m }, (_, i) => rows.reduce((a, r) => a + r[i], 0) / s);
  const variance = Array.from({ length: m }, (_, i) => rows.reduce((a, r) => a + (r[i] - mean[i]) ** 2, 0) / s);
  return { mean, variance };
}

test('Welford over uneven batches (and a merge) equals a two-pass float64 computation', async () => {
  await useBackend('cpu');
  const rng = new Rng(3);
  const n = 6, c = 5, batches = [1, 7, 3, 16, 2];
  // a large offset makes the naive E[x²] − E[x]² formula lose digits; Welford must not
  const rows: number[][] = [];
  const a = new Welford([n, c]), b = new Welford([n, c]);
  batches.forEach((bs, k) => {
    // float32-representable values, as the tensor will hold them
    const data = Array.from({ length: bs * n * c }, (_, i) => Math.fround(1e4 + (i % c) + 0.01 * rng.normal() * (1 + (i % n))));
    for (let s = 0; s < bs; s++) rows.push(data.slice(s * n * c, (s + 1) * n * c));
    const t = tf.tensor(data, [bs, n, c]);
    (k < 3 ? a : b).update(t);
    t.dispose();
  });
  a.merge(b);
  const ref = twoPass(rows);
  assert.equal(a.count, 29);
  const mv = a.variance();
  for (let i = 0; i < n * c; i++) {
    assert.ok(Math.abs(a.mean[i] - ref.mean[i]) < 1e-9, `mean[${i}]`);
    assert.ok(Math.abs(mv[i] - ref.variance[i]) < 1e-9 * Math.max(1, ref.variance[i]), `var[${i}] ${mv[i]} vs ${ref.variance[i]}`);
  }
  assert.throws(() => a.update(tf.zeros([2, n, c + 1])), /does not match/);
});

test('standardize / destandardize: formula, round trip, variance-only stats', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const rng = new Rng(5);
  const z = rng.randn([3, 4, 2], 2, 3);
  const stats = { mean: rng.randn([4, 2]), var: rng.rand([4, 2], 0.5, 2) };
  const s = standardize(z, stats);
  const zd = z.dataSync(), md = stats.mean.dataSync(), vd = stats.var.dataSync();
  const expect = Array.from(zd, (v, i) => (v - md[i % 8]) / Math.sqrt(vd[i % 8] + STATS_EPS));
  assertClose(s, expect, 1e-5, 'standardize');
  const back = destandardize(s, stats);
  assertClose(back, z, 1e-5, 'round trip');
  const noMean = { mean: null, var: stats.var };
  const s2 = standardize(z, noMean);
  assertClose(s2, Array.from(zd, (v, i) => v / Math.sqrt(vd[i % 8] + STATS_EPS)), 1e-5, 'variance only');
  tf.dispose([z, s, back, s2]);
  disposeStats(stats);
  assert.equal(tf.memory().numTensors, before);
});

test('stats files: save/load round trip, variance-only, channels-first upstream layout, clear errors', async () => {
  await useBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-stats-'));
  try {
    const rng = new Rng(1);
    const stats = { mean: rng.randn([6, 3]), var: rng.rand([6, 3], 0.1, 1) };
    const f = path.join(dir, 'stats.safetensors');
    saveStats(f, stats);
    const back = loadStats(f, [6, 3]);
    assertClose(back.mean!, stats.mean, 0, 'mean');
    assertClose(back.var, stats.var, 0, 'var');
    // upstream RAE stores [1, C, h, w]; token n = row-major (h, w) position
    const cf = tf.tidy(() => stats.var.transpose().reshape([1, 3, 2, 3]));
    const f2 = path.join(dir, 'upstream.safetensors');
    saveSafetensors(f2, { var: cf });
    const up = loadStats(f2);
    assert.equal(up.mean, null);
    assertClose(up.var, stats.var, 0, 'channels-first var');
    assert.throws(() => loadStats(f2, [4, 3]), /upstream\.safetensors: "var" has shape \[1,3,2,3\] but the latent is \[N=4, C=3\]/);
    const f3 = path.join(dir, 'bad.safetensors');
    saveSafetensors(f3, { mean: stats.mean });
    assert.throws(() => loadStats(f3), /no "var" tensor/);
    assert.throws(() => loadStats(path.join(dir, 'none.safetensors')), /not found/);
    tf.dispose([cf]);
    for (const s of [stats, back, up]) disposeStats(s);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
