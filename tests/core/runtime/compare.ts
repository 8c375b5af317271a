/** Run the same tensor computation on several backends and compare the results element-wise. */
import assert from 'node:assert/strict';
import { tf, type Tensor } from '@raev2/core';
import { useBackend, maxAbsDiff } from '../../helpers/fixtures.js';

/** fn's outputs (read back as Float32Array) on `backend`, asserting that fn leaks no tensors. */
export async function runOn(backend: string, fn: () => Tensor[]): Promise<Float32Array[]> {
  await useBackend(backend);
  const before = tf.memory().numTensors;
  const outs = tf.tidy(fn);
  const vals = outs.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(outs);
  assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  return vals;
}

/** Assert fn gives the same outputs on wasm as on cpu within atol · max(1, |cpu|∞). */
export async function assertWasmMatchesCpu(fn: () => Tensor[], atol: number, what: string): Promise<number> {
  const cpu = await runOn('cpu', fn);
  const wasm = await runOn('wasm', fn);
  let worst = 0;
  cpu.forEach((c, i) => {
    const scale = c.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
    const d = maxAbsDiff(wasm[i], c) / scale;
    worst = Math.max(worst, d);
    assert.ok(d <= atol, `${what} output ${i}: wasm vs cpu relative max diff ${d.toExponential(3)} > ${atol}`);
  });
  return worst;
}

/** Deterministic pseudo-random data in [-1, 1). */
export function data(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

export const rand = (shape: number[], seed: number): Tensor => tf.tensor(data(shape.reduce((a, b) => a * b, 1), seed), shape);
