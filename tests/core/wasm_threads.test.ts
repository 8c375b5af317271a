/**
 * The threaded wasm build (runtime/wasm_threads.ts) must give the same numbers as the
 * single-threaded one. A backend is fixed per process, so each variant runs in a child process
 * (this file, in child mode) that prints its results; the parent compares them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tf, initRuntime, wasmThreadsInUse, resolveWasmThreads, Rng, layerNorm, gelu } from '@raev2/core';

const CHILD_ENV = 'RAEV2_WASM_THREADS_TEST_CHILD';

/** Matmul-heavy ops (XNNPACK uses its thread pool for these) and a gradient. */
function workload(): Float32Array[] {
  const rng = new Rng(7);
  return tf.tidy(() => {
    const a = rng.randn([4, 197, 96]);
    const rows = a.reshape([4 * 197, 96]); // tfjs's BatchMatMul gradient does not reduce broadcast batch dims
    const w1 = rng.randn([96, 384], 0, 0.1);
    const w2 = rng.randn([384, 96], 0, 0.1);
    const img = rng.rand([2, 32, 32, 3]);
    const filt = rng.randn([3, 3, 3, 16], 0, 0.3);
    const mlp = (x: tf.Tensor, u: tf.Tensor, v: tf.Tensor) =>
      tf.matMul(gelu(tf.matMul(layerNorm(x, 1e-6), u)), v);
    const y = mlp(rows, w1, w2);
    const att = tf.softmax(tf.matMul(a, a, false, true).div(Math.sqrt(96)));
    const big = tf.matMul(rng.randn([300, 257]), rng.randn([257, 333]));
    const conv = tf.conv2d(img as tf.Tensor4D, filt as tf.Tensor4D, 1, 'same');
    const grads = tf.grads((u: tf.Tensor, v: tf.Tensor) => mlp(rows, u, v).square().mean())([w1, w2]);
    return [y, att, big, conv, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

async function child(): Promise<void> {
  await initRuntime({ backend: 'wasm', log: false });
  const out = workload();
  process.stdout.write(JSON.stringify({ threads: wasmThreadsInUse(), arrays: out.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')) }));
}

function run(threads: string): { threads: number; arrays: Float32Array[] } {
  const r = spawnSync(process.execPath, ['--conditions=@raev2/source', '--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, [CHILD_ENV]: '1', RAEV2_WASM_THREADS: threads, RAEV2_QUIET: '1' },
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, `child (threads=${threads}) failed (status ${r.status}, signal ${r.signal}): ${r.stderr.slice(-2000)}`);
  const parsed = JSON.parse(r.stdout) as { threads: number; arrays: string[] };
  return { threads: parsed.threads, arrays: parsed.arrays.map((s) => { const b = Buffer.from(s, 'base64'); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); }) };
}

if (process.env[CHILD_ENV] === '1') {
  await child();
} else {
  test('RAEV2_WASM_THREADS parsing', () => {
    assert.equal(resolveWasmThreads(3), 3);
    assert.ok(resolveWasmThreads('auto') >= 1);
    assert.throws(() => resolveWasmThreads(0), /RAEV2_WASM_THREADS/);
    assert.throws(() => resolveWasmThreads(Number.NaN), /RAEV2_WASM_THREADS/);
  });

  test('threaded wasm (2 threads) equals single-threaded wasm bit for bit', () => {
    const one = run('1');
    const two = run('2');
    assert.equal(one.threads, 1);
    assert.equal(two.threads, 2, 'the threaded build did not start with 2 threads');
    assert.equal(one.arrays.length, two.arrays.length);
    one.arrays.forEach((a, i) => {
      let diff = 0;
      for (let j = 0; j < a.length; j++) diff = Math.max(diff, Math.abs(a[j] - two.arrays[i][j]));
      assert.ok(a.every(Number.isFinite), `output ${i} not finite`);
      assert.equal(diff, 0, `output ${i}: max abs diff ${diff} between 1 and 2 threads`);
    });
  });
}
