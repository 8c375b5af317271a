import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, symEig, sqrtmPsd, matmul, FeatureStats, frechetDistance, frechetDistanceOf, traceSqrtProduct } from '@raev2/core';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));

function randomSym(rng: Rng, n: number): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rng.normal();
  return a;
}

/** Q D Q for a diagonal D and the reflection Q = I − c·uuᵀ, c = 2/|u|² (symmetric orthogonal), in O(n²):
 *  D − c·u(Du)ᵀ − c·(Du)uᵀ + c²(uᵀDu)·uuᵀ. */
function reflectDiag(u: Float64Array, diag: ArrayLike<number>): Float64Array {
  const n = u.length;
  const c = 2 / u.reduce((s, v) => s + v * v, 0);
  const du = u.map((v, i) => v * diag[i]);
  const udu = u.reduce((s, v, i) => s + v * du[i], 0);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    out[i * n + j] = (i === j ? diag[i] : 0) - c * (u[i] * du[j] + du[i] * u[j]) + c * c * udu * u[i] * u[j];
  }
  return out;
}

test('symEig: A·v = λ·v, orthonormal vectors, ascending values, repeated eigenvalues', () => {
  const rng = new Rng(1);
  const cases: [Float64Array, number][] = [1, 2, 3, 7, 33].map((n) => [randomSym(rng, n), n]);
  const rep = new Float64Array(16);
  [2, 2, 2, -1].forEach((v, i) => (rep[i * 4 + i] = v));
  cases.push([rep, 4], [reflectDiag(Float64Array.from([1, 2, 3, 4, 5]), [3, 3, 1, 1, 1]), 5]);
  for (const [a, n] of cases) {
    const { values, vectors } = symEig(a, n, { vectors: true });
    const v = vectors!;
    for (let k = 0; k < n; k++) {
      if (k > 0) assert.ok(values[k] >= values[k - 1]);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += a[i * n + j] * v[k * n + j];
        assert.ok(Math.abs(s - values[k] * v[k * n + i]) < 1e-12, `n=${n} residual`);
      }
      for (let l = 0; l < n; l++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += v[k * n + j] * v[l * n + j];
        assert.ok(Math.abs(s - (k === l ? 1 : 0)) < 1e-12, `n=${n} orthonormality`);
      }
    }
    const valuesOnly = symEig(a, n).values;
    for (let k = 0; k < n; k++) assert.ok(Math.abs(valuesOnly[k] - values[k]) < 1e-12);
  }
});

test('sqrtmPsd: S·S = A for a random PSD matrix (and a singular one)', () => {
  const rng = new Rng(2);
  for (const [n, rank] of [[12, 12], [12, 5]]) {
    const x = Float64Array.from(rng.normalArray(rank * n));
    const a = matmul(transpose(x, rank, n), x, n, rank, n);
    const s = sqrtmPsd(a, n);
    const ss = matmul(s, s, n, n, n);
    for (let i = 0; i < n * n; i++) assert.ok(Math.abs(ss[i] - a[i]) < 1e-10 * Math.max(1, Math.abs(a[i])), `rank ${rank}: ${ss[i]} vs ${a[i]}`);
  }
});

function transpose(x: Float64Array, r: number, c: number): Float64Array {
  const t = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = x[i * c + j];
  return t;
}

test('Fréchet distance: closed forms (diagonal, commuting, 2×2) and identical sets → 0', () => {
  const rng = new Rng(3);
  // diagonal covariances: Σ(μ1−μ2)² + Σ(σ1 + σ2 − 2√(σ1σ2))
  const d = 20;
  const m1 = Float64Array.from(rng.normalArray(d)), m2 = Float64Array.from(rng.normalArray(d));
  const v1 = Float64Array.from(rng.uniformArray(d, 0.1, 3)), v2 = Float64Array.from(rng.uniformArray(d, 0, 2));
  v2[3] = 0; // a singular covariance
  const diag = (v: Float64Array) => { const c = new Float64Array(d * d); v.forEach((x, i) => (c[i * d + i] = x)); return c; };
  let expect = 0;
  for (let i = 0; i < d; i++) expect += (m1[i] - m2[i]) ** 2 + v1[i] + v2[i] - 2 * Math.sqrt(v1[i] * v2[i]);
  for (const method of ['cholesky', 'sqrtm'] as const) {
    const fd = frechetDistance({ dim: d, mean: m1, cov: diag(v1) }, { dim: d, mean: m2, cov: diag(v2) }, { method });
    assert.ok(rel(fd, expect) < 1e-10, `${method} diagonal ${fd} vs ${expect}`);
    const swapped = frechetDistance({ dim: d, mean: m2, cov: diag(v2) }, { dim: d, mean: m1, cov: diag(v1) }, { method });
    assert.ok(rel(swapped, expect) < 1e-10, `${method} with the singular covariance first`);
  }
  // commuting S1 = Q D1 Q, S2 = Q D2 Q: tr√(S1^½ S2 S1^½) = Σ √(d1·d2)
  const u = Float64Array.from(rng.normalArray(d));
  const s1 = reflectDiag(u, v1), s2 = reflectDiag(u, v2);
  const trs = v1.reduce((s, x, i) => s + Math.sqrt(x * v2[i]), 0);
  const tc = traceSqrtProduct(s1, s2, d), ts = traceSqrtProduct(s1, s2, d, 'sqrtm');
  // (a zero eigenvalue computed as ±1e-16 contributes √1e-16 = 1e-8: tr√ is not Lipschitz at 0)
  assert.ok(rel(tc, trs) < 1e-7, `cholesky ${tc} vs ${trs}`);
  assert.ok(rel(ts, trs) < 1e-7, `sqrtm ${ts} vs ${trs}`);
  // 2×2 non-commuting: tr√M = √(tr M + 2√det M) with M similar to S1·S2
  const a2 = Float64Array.from([2, 0.7, 0.7, 1]), b2 = Float64Array.from([0.5, -0.3, -0.3, 3]);
  const trM = 2 * 0.5 + 0.7 * -0.3 + 0.7 * -0.3 + 1 * 3, detM = (2 - 0.49) * (1.5 - 0.09);
  assert.ok(rel(traceSqrtProduct(a2, b2, 2), Math.sqrt(trM + 2 * Math.sqrt(detM))) < 1e-12);
  // identical feature sets
  const f = new FeatureStats(d).update(rng.normalArray(50 * d, 1, 2));
  assert.ok(Math.abs(frechetDistanceOf(f, f)) < 1e-9, `${frechetDistanceOf(f, f)}`);
});

test('FeatureStats: batched float64 mean and unbiased covariance equal a two-pass computation; merge', () => {
  const rng = new Rng(4);
  const d = 7, rows: number[][] = [];
  const a = new FeatureStats(d), b = new FeatureStats(d);
  [3, 1, 10, 6].forEach((bs, k) => {
    const x = rng.normalArray(bs * d, 100, 0.5); // offset: the co-moment merge must not cancel
    for (let s = 0; s < bs; s++) rows.push(Array.from(x.subarray(s * d, (s + 1) * d)));
    (k % 2 ? b : a).update(x);
  });
  a.merge(b);
  const n = rows.length;
  const mean = Array.from({ length: d }, (_, i) => rows.reduce((s, r) => s + r[i], 0) / n);
  const cov = a.covariance();
  for (let i = 0; i < d; i++) {
    assert.ok(Math.abs(a.mean[i] - mean[i]) < 1e-11);
    for (let j = 0; j < d; j++) {
      const c = rows.reduce((s, r) => s + (r[i] - mean[i]) * (r[j] - mean[j]), 0) / (n - 1);
      assert.ok(Math.abs(cov[i * d + j] - c) < 1e-11, `cov[${i},${j}] ${cov[i * d + j]} vs ${c}`);
    }
  }
  assert.throws(() => new FeatureStats(3).update(new Float32Array(4)), /not whole 3-dim rows/);
  assert.throws(() => new FeatureStats(3).covariance(), /at least 2 samples/);
});

test('Fréchet distance at 1280 dims (MobileNetV2 / Inception feature width): accuracy and time', () => {
  const rng = new Rng(5);
  const d = 1280;
  let t = Date.now();
  const f = new FeatureStats(d);
  for (let k = 0; k < 4; k++) f.update(rng.normalArray(128 * d));
  const tAcc = (Date.now() - t) / 1000;
  // S1 = Q D1 Q, S2 = Q D2 Q (Q a reflection): FD = |Δμ|² + Σ(√d1 − √d2)²; D1 has a zero block (rank-deficient)
  const u = Float64Array.from(rng.normalArray(d));
  const d1 = Float64Array.from(rng.uniformArray(d, 0, 4)).map((v, i) => (i % 10 === 0 ? 0 : v));
  const d2 = Float64Array.from(rng.uniformArray(d, 0.5, 2));
  const s1 = reflectDiag(u, d1), s2 = reflectDiag(u, d2);
  const m = new Float64Array(d), m2 = new Float64Array(d).fill(0.01);
  const expect = d * 1e-4 + d1.reduce((s, v, i) => s + (Math.sqrt(v) - Math.sqrt(d2[i])) ** 2, 0);
  t = Date.now();
  const fd = frechetDistance({ dim: d, mean: m, cov: s1 }, { dim: d, mean: m2, cov: s2 });
  const tFd = (Date.now() - t) / 1000;
  console.log(`  d=${d}: accumulate 512 samples ${tAcc.toFixed(2)} s, FD ${tFd.toFixed(2)} s, FD ${fd.toFixed(9)} vs closed form ${expect.toFixed(9)} (rel ${rel(fd, expect).toExponential(1)})`);
  assert.ok(rel(fd, expect) < 1e-9);
  assert.equal(f.count, 512);
});
