/**
 * Large products on onnxruntime (runtime/ort_matmul.ts): forward products and their gradients
 * against a float64 recomputation, the size threshold (small products stay on XNNPACK, bit for
 * bit), the same numbers on 1 and 2 threads, and DiT^DH training steps that match the XNNPACK path.
 * A backend and its kernels are fixed per process, so each variant runs in a child process (this
 * file, in child mode) that prints its results; the parent checks them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  tf, initRuntime, wasmThreadsInUse, ortMatMulEnabled, matMulGeometry, Rng, createDiT, parseDiTConfig,
  drawTraining, flowMatchingLoss, raev2Transport, AdamW, valueAndGrads, disposeGrads,
} from '@raev2/core';

const CHILD_ENV = 'RAEV2_ORT_MATMUL_TEST_CHILD';

interface Case { a: number[]; b: number[]; ta: boolean; tb: boolean }

/** Every form the DiT's steps produce: weights (transposed), gradients (transposed A), batched attention, a broadcast batch. */
const CASES: Case[] = [
  { a: [200, 96], b: [128, 96], ta: false, tb: true },
  { a: [200, 96], b: [96, 128], ta: false, tb: false },
  { a: [200, 96], b: [200, 128], ta: true, tb: false },
  { a: [96, 200], b: [128, 96], ta: true, tb: true },
  { a: [4, 4, 40, 24], b: [4, 4, 40, 24], ta: false, tb: true },
  { a: [4, 4, 40, 40], b: [4, 4, 40, 24], ta: false, tb: false },
  { a: [3, 150, 64], b: [64, 72], ta: false, tb: false },
  // N > M: MLAS would split N across threads and sum in another order (computed transposed)
  { a: [16, 1024], b: [1024, 144], ta: false, tb: false },
  { a: [8, 512], b: [144, 512], ta: false, tb: true },
];
/** Below the default threshold (2^20 FLOPs): stays on XNNPACK. */
const SMALL: Case = { a: [16, 24], b: [24, 32], ta: false, tb: false };
/** A matrix-vector product (MLAS's GEMV splits the reduction across threads): stays on XNNPACK. */
const GEMV: Case = { a: [4096, 512], b: [512, 1], ta: false, tb: false };

const size = (s: number[]) => s.reduce((p, d) => p * d, 1);

function inputs(c: Case, seed: number): { a: Float32Array; b: Float32Array; w: Float32Array } {
  const rng = new Rng(seed);
  const { shape } = matMulGeometry(c.a, c.b, c.ta, c.tb);
  return { a: rng.uniformArray(size(c.a), -1, 1), b: rng.uniformArray(size(c.b), -1, 1), w: rng.uniformArray(size(shape), -1, 1) };
}

/** Products, gradients of Σ w·y (both operands, where no batch is broadcast), and DiT^DH training. */
function workload(): Float32Array[] {
  const out: Float32Array[] = [];
  [...CASES, SMALL, GEMV].forEach((c, i) => {
    const x = inputs(c, 100 + i);
    const { shape } = matMulGeometry(c.a, c.b, c.ta, c.tb);
    tf.tidy(() => {
      const a = tf.tensor(x.a, c.a), b = tf.tensor(x.b, c.b), w = tf.tensor(x.w, shape);
      out.push(tf.matMul(a, b, c.ta, c.tb).dataSync() as Float32Array);
      if (c.a.length === c.b.length) {
        const [ga, gb] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.matMul(p, q, c.ta, c.tb).mul(w).sum())([a, b]);
        out.push(ga.dataSync() as Float32Array, gb.dataSync() as Float32Array);
      }
    });
  });
  out.push(...ditSteps());
  return out;
}

/** Three AdamW steps of the demo-shaped DiT^DH (batch 4): the losses and a slice of the weights. */
function ditSteps(): Float32Array[] {
  const config = parseDiTConfig({ arch: 'raev2', inputSize: 6, inChannels: 96, numClasses: 9, hiddenSize: [96, 128], depth: [2, 1], numHeads: [4, 4], baseDepth: 1 }, 'test DiT');
  const model = createDiT(config, 0);
  const rng = new Rng(3);
  const shape = [4, 36, 96];
  const x = rng.randn(shape);
  const labels = tf.tensor1d([0, 3, 5, 8], 'int32');
  const transport = raev2Transport(8);
  const params = model.namedParameters().filter(([, v]) => v.trainable);
  const opt = new AdamW(params, { lr: 1e-3, betas: [0.9, 0.95], weightDecay: 0 });
  const losses: number[] = [];
  for (let s = 0; s < 3; s++) {
    const draw = drawTraining(rng, shape, transport);
    const { value, grads } = valueAndGrads(() => flowMatchingLoss(model, x, { labels }, draw, transport).loss, params);
    losses.push(value);
    opt.step(grads);
    disposeGrads(grads);
    tf.dispose([draw.t, draw.noise]);
  }
  const weights = params.find(([n]) => n === 'blocks.0.attn.q.weight')![1].dataSync() as Float32Array;
  const result = [new Float32Array(losses), weights.slice()];
  opt.dispose();
  model.dispose();
  tf.dispose([x, labels]);
  return result;
}

async function child(): Promise<void> {
  await initRuntime({ backend: 'wasm', log: false });
  const out = workload();
  process.stdout.write(JSON.stringify({ threads: wasmThreadsInUse(), ort: ortMatMulEnabled(), arrays: out.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')) }));
}

function run(engine: 'ort' | 'tfjs', threads: string): { threads: number; ort: boolean; arrays: Float32Array[] } {
  const r = spawnSync(process.execPath, ['--conditions=@raev2/source', '--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, [CHILD_ENV]: '1', RAEV2_ENGINE: engine, RAEV2_WASM_THREADS: threads, RAEV2_QUIET: '1', RAEV2_ORT_THREADS: '' },
    encoding: 'utf8',
    timeout: 180_000,
    maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, `child (${engine}, threads=${threads}) failed (status ${r.status}, signal ${r.signal}): ${r.stderr.slice(-2000)}`);
  const parsed = JSON.parse(r.stdout) as { threads: number; ort: boolean; arrays: string[] };
  return { ...parsed, arrays: parsed.arrays.map((s) => { const b = Buffer.from(s, 'base64'); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); }) };
}

/** op(X) as a float64 [batch][rows][cols] accessor over a flat row-major array with shape s. */
function operand(data: Float32Array, s: number[], transpose: boolean) {
  const r = s.length, rows = s[r - 2], cols = s[r - 1];
  return (batch: number, i: number, j: number) => data[batch * rows * cols + (transpose ? j * cols + i : i * cols + j)];
}

/** Float64 y = op(A)·op(B) and the bound Σ|a||b| per element (the scale of float32 rounding). */
function reference(c: Case, x: { a: Float32Array; b: Float32Array }): { y: Float64Array; bound: Float64Array } {
  const { shape } = matMulGeometry(c.a, c.b, c.ta, c.tb);
  const m = shape[shape.length - 2], n = shape[shape.length - 1];
  const k = c.ta ? c.a[c.a.length - 2] : c.a[c.a.length - 1];
  const batch = size(shape.slice(0, -2));
  const batchA = size(c.a.slice(0, -2)), batchB = size(c.b.slice(0, -2));
  const A = operand(x.a, c.a, c.ta), B = operand(x.b, c.b, c.tb);
  const y = new Float64Array(batch * m * n), bound = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0, t = 0;
        for (let q = 0; q < k; q++) {
          const u = A(batchA === 1 ? 0 : p, i, q) * B(batchB === 1 ? 0 : p, q, j);
          s += u;
          t += Math.abs(u);
        }
        y[(p * m + i) * n + j] = s;
        bound[(p * m + i) * n + j] = t;
      }
    }
  }
  return { y, bound };
}

/** Float64 gradients of Σ w·(op(A)·op(B)) with respect to A and B (same batch dims). */
function referenceGrads(c: Case, x: { a: Float32Array; b: Float32Array; w: Float32Array }): { ga: Float64Array; gb: Float64Array } {
  const ga = new Float64Array(x.a.length), gb = new Float64Array(x.b.length);
  const { shape } = matMulGeometry(c.a, c.b, c.ta, c.tb);
  const m = shape[shape.length - 2], n = shape[shape.length - 1];
  const k = c.ta ? c.a[c.a.length - 2] : c.a[c.a.length - 1];
  const batch = size(shape.slice(0, -2));
  const aIdx = (p: number, i: number, q: number) => p * m * k + (c.ta ? q * m + i : i * k + q);
  const bIdx = (p: number, q: number, j: number) => p * k * n + (c.tb ? j * k + q : q * n + j);
  for (let p = 0; p < batch; p++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const w = x.w[(p * m + i) * n + j];
        for (let q = 0; q < k; q++) {
          ga[aIdx(p, i, q)] += w * x.b[bIdx(p, q, j)];
          gb[bIdx(p, q, j)] += w * x.a[aIdx(p, i, q)];
        }
      }
    }
  }
  return { ga, gb };
}

const maxAbs = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

if (process.env[CHILD_ENV] === '1') {
  await child();
} else {
  const ort1 = run('ort', '1');
  const ort2 = run('ort', '2');
  const wasm = run('tfjs', '1');

  test('the ort engine routes products to onnxruntime; the tfjs engine does not', () => {
    assert.equal(ort1.ort, true);
    assert.equal(wasm.ort, false);
    assert.equal(ort2.threads, 2, 'the threaded build did not start with 2 threads');
  });

  test('routed products and their gradients match a float64 recomputation', () => {
    let o = 0;
    CASES.forEach((c, i) => {
      const x = inputs(c, 100 + i);
      const { y, bound } = reference(c, x);
      const got = ort1.arrays[o++];
      assert.equal(got.length, y.length, `case ${i}: output size`);
      got.forEach((v, j) => assert.ok(Math.abs(v - y[j]) <= 1e-6 * bound[j] + 1e-7, `case ${i} (${JSON.stringify(c)}) y[${j}] = ${v}, float64 ${y[j]}`));
      // the routed product is not XNNPACK's: some element differs in its last bits
      assert.ok(maxAbs(got, wasm.arrays[o - 1]) > 0, `case ${i}: identical to XNNPACK, so it was not routed`);
      if (c.a.length === c.b.length) {
        const { ga, gb } = referenceGrads(c, x);
        for (const [name, ref] of [['dA', ga], ['dB', gb]] as const) {
          const g = ort1.arrays[o++];
          const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          g.forEach((v, j) => assert.ok(Math.abs(v - ref[j]) <= 1e-5 * scale, `case ${i} ${name}[${j}] = ${v}, float64 ${ref[j]}`));
        }
      }
    });
  });

  test('products under the threshold and matrix-vector products stay on XNNPACK, bit for bit', () => {
    const o = CASES.reduce((n, c) => n + (c.a.length === c.b.length ? 3 : 1), 0);
    assert.ok(matMulGeometry(SMALL.a, SMALL.b, SMALL.ta, SMALL.tb).flops < 2 ** 20);
    assert.ok(matMulGeometry(GEMV.a, GEMV.b, GEMV.ta, GEMV.tb).flops >= 2 ** 20);
    for (let j = o; j < o + 6; j++) assert.equal(maxAbs(ort1.arrays[j], wasm.arrays[j]), 0, `output ${j - o} of the small and matrix-vector products differs from XNNPACK`);
  });

  test('routed products give the same numbers on 1 and 2 threads (training included)', () => {
    assert.equal(ort1.arrays.length, ort2.arrays.length);
    ort1.arrays.forEach((a, i) => assert.equal(maxAbs(a, ort2.arrays[i]), 0, `output ${i} differs between 1 and 2 threads`));
  });

  test('a bad RAEV2_ORT_MATMUL_MIN_FLOPS is refused at start-up, naming the variable and the value', () => {
    const r = spawnSync(process.execPath, ['--conditions=@raev2/source', '--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: { ...process.env, [CHILD_ENV]: '1', RAEV2_ENGINE: 'ort', RAEV2_WASM_THREADS: '1', RAEV2_QUIET: '1', RAEV2_ORT_MATMUL_MIN_FLOPS: 'lots' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /RAEV2_ORT_MATMUL_MIN_FLOPS="lots" must be a non-negative integer/);
    assert.equal(r.stdout, '', 'nothing computed with a bad threshold');
  });

  test('DiT^DH training steps with routed products follow the XNNPACK path', () => {
    const n = ort1.arrays.length;
    const [lossOrt, lossWasm] = [ort1.arrays[n - 2], wasm.arrays[n - 2]];
    lossOrt.forEach((l, s) => assert.ok(Math.abs(l - lossWasm[s]) <= 1e-4 * Math.abs(lossWasm[s]), `step ${s} loss ${l} vs ${lossWasm[s]} on XNNPACK`));
    const w = maxAbs(ort1.arrays[n - 1], wasm.arrays[n - 1]);
    assert.ok(w < 1e-4, `weights after 3 steps differ by ${w}`);
  });
}
