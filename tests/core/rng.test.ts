import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '@raev2/core';

test('Rng: same seed gives the same stream; state round-trips', () => {
  const a = new Rng(42), b = new Rng(42);
  const xs = Array.from({ length: 100 }, () => a.normal());
  assert.deepEqual(xs, Array.from({ length: 100 }, () => b.normal()));
  const s = a.state();
  const next = a.random();
  const c = new Rng(s);
  assert.equal(c.random(), next);
});

test('Rng: normal draws have mean ≈ 0 and variance ≈ 1', () => {
  const r = new Rng(1);
  const n = 200000;
  let s = 0, s2 = 0;
  for (let i = 0; i < n; i++) { const v = r.normal(); s += v; s2 += v * v; }
  const mean = s / n, v = s2 / n - mean * mean;
  assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(v - 1) < 0.01, `var ${v}`);
});
