import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, Muon, Rng, muonScale, muonWithAdamW, newtonSchulz5, NS_COEFFS, type Tensor } from '@raev2/core';
import { assertClose, testBackends, useBackend } from '../../helpers/fixtures.js';

type Mat = number[][];
const matmul = (a: Mat, b: Mat): Mat => a.map((r) => b[0].map((_, j) => r.reduce((s, v, k) => s + v * b[k][j], 0)));
const tr = (a: Mat): Mat => a[0].map((_, j) => a.map((r) => r[j]));
const toMat = (d: ArrayLike<number>, rows: number, cols: number): Mat => Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => d[i * cols + j]));

/** zeropower_via_newtonschulz5 of the reference Muon, in float64. */
function ns5Ref(g: Mat, steps = 5): Mat {
  const [a, b, c] = NS_COEFFS;
  const tall = g.length > g[0].length;
  let x = tall ? tr(g) : g.map((r) => [...r]);
  const norm = Math.sqrt(x.flat().reduce((s, v) => s + v * v, 0));
  x = x.map((r) => r.map((v) => v / (norm + 1e-7)));
  for (let i = 0; i < steps; i++) {
    const A = matmul(x, tr(x));
    const AA = matmul(A, A);
    const B = A.map((r, p) => r.map((v, q) => b * v + c * AA[p][q]));
    const Bx = matmul(B, x);
    x = x.map((r, p) => r.map((v, q) => a * v + Bx[p][q]));
  }
  return tall ? tr(x) : x;
}

/** Eigenvalues of a symmetric matrix (cyclic Jacobi, float64). */
function symEig(m: Mat): number[] {
  const a = m.map((r) => [...r]);
  const n = a.length;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p][q]) < 1e-300) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
      }
    }
  }
  return a.map((r, i) => r[i]);
}

for (const backend of testBackends()) {
  test(`newtonSchulz5: singular values near 1, equal to a float64 recomputation [${backend}]`, async () => {
    await useBackend(backend);
    const rng = new Rng(11);
    for (const [rows, cols] of [[16, 24], [32, 16]]) {
      const gd = rng.normalArray(rows * cols);
      const before = tf.memory().numTensors;
      const g = tf.tensor2d(gd, [rows, cols]);
      const x = newtonSchulz5(g);
      const xd = x.dataSync();
      g.dispose();
      x.dispose();
      assert.equal(tf.memory().numTensors, before, 'newtonSchulz5 leaks');
      const ref = ns5Ref(toMat(gd, rows, cols));
      assertClose(xd, ref.flat(), 2e-5, `NS5 [${rows}×${cols}] vs float64`);
      const X = toMat(xd, rows, cols);
      const small = rows <= cols ? matmul(X, tr(X)) : matmul(tr(X), X); // r×r, eigenvalues = σ²
      const sv = symEig(small).map((e) => Math.sqrt(Math.max(e, 0)));
      const lo = Math.min(...sv), hi = Math.max(...sv);
      assert.ok(lo > 0.6 && hi < 1.2, `singular values in [${lo.toFixed(3)}, ${hi.toFixed(3)}], expected within [0.6, 1.2]`);
      let dev = 0;
      small.forEach((r, i) => r.forEach((v, j) => (dev = Math.max(dev, Math.abs(v - (i === j ? 1 : 0))))));
      assert.ok(dev < 0.5, `UUᵀ deviates from I by ${dev}`);
    }
  });

  test(`Muon: two Nesterov steps with weight decay match float64 [${backend}]`, async () => {
    await useBackend(backend);
    const rng = new Rng(5);
    const [rows, cols] = [12, 20];
    const p0 = Array.from(rng.normalArray(rows * cols));
    const gs = [0, 1].map(() => Array.from(rng.normalArray(rows * cols)));
    const o = { lr: 0.5, beta: 0.95, wd: 0.1 };
    for (const scale of ['match-adamw', 'spectral'] as const) {
      const init = tf.tensor2d(p0, [rows, cols]);
      const w = tf.variable(init);
      init.dispose();
      const opt = new Muon([['w', w]], { lr: o.lr, weightDecay: o.wd, scale });
      let p = [...p0], buf = p0.map(() => 0);
      for (const g of gs) {
        const gm = new Map<string, Tensor>([['w', tf.tensor2d(g, [rows, cols])]]);
        opt.step(gm);
        gm.get('w')!.dispose();
        buf = buf.map((b, i) => o.beta * b + (1 - o.beta) * g[i]);
        const u = g.map((v, i) => (1 - o.beta) * v + o.beta * buf[i]);
        const X = ns5Ref(toMat(u, rows, cols)).flat();
        const s = scale === 'match-adamw' ? 0.2 * Math.sqrt(Math.max(rows, cols)) : Math.sqrt(Math.max(1, rows / cols));
        assert.equal(muonScale(rows, cols, scale), s);
        p = p.map((v, i) => v * (1 - o.lr * o.wd) - o.lr * s * X[i]);
      }
      assertClose(w, p, 5e-5, `Muon (${scale}) parameters after 2 steps`);
      const sd = opt.stateDict();
      assertClose(sd.get('momentum_buffer/w')!, buf, 1e-6, 'momentum buffer');
      for (const t of sd.values()) t.dispose();
      opt.dispose();
      w.dispose();
    }
  });
}

test('muonWithAdamW: matrices to Muon, vectors and marked layers to AdamW', async () => {
  await useBackend('cpu');
  const mk = (shape: number[]) => {
    const t = tf.ones(shape);
    const v = tf.variable(t);
    t.dispose();
    return v;
  };
  const params: [string, tf.Variable][] = [['blocks.0.fc1.weight', mk([4, 3])], ['blocks.0.fc1.bias', mk([4])], ['x_embedder.weight', mk([4, 2])], ['final_layer.weight', mk([2, 4])]];
  const opt = muonWithAdamW(params, { lr: 1e-3, muonLr: 2e-2, adamw: (n) => /embedder|final_layer/.test(n) });
  assert.deepEqual(opt.members.muon.paramNames, ['blocks.0.fc1.weight']);
  assert.deepEqual(opt.members.adamw.paramNames, ['blocks.0.fc1.bias', 'x_embedder.weight', 'final_layer.weight']);
  opt.lr = 5e-4; // a schedule halves the lr: both halve
  assert.equal(opt.members.adamw.lr, 5e-4);
  assert.ok(Math.abs(opt.members.muon.lr - 1e-2) < 1e-12);
  assert.throws(() => new Muon([['b', params[1][1]]], { lr: 1 }), /rank 1/);
  opt.dispose();
  for (const [, v] of params) v.dispose();
});
