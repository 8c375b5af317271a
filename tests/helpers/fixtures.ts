/** Shared test helpers: where the reference fixtures live and tolerance comparisons. */
import * as path from 'node:path';
import * as fs from 'node:fs';
import assert from 'node:assert/strict';
import { tf, type Tensor, loadSafetensors, initRuntime } from '@raev2/core';

export const ROOT = path.resolve(import.meta.dirname, '../..');
/** `../shared/fixtures/reference` beside the checkout (read at run time, never copied). */
export const FIXTURES = path.resolve(ROOT, '../shared/fixtures/reference');

export function fixtureDir(family: string): string {
  const d = path.join(FIXTURES, family);
  if (!fs.existsSync(d)) throw new Error(`fixture folder ${d} not found (tests expect ../shared beside the checkout)`);
  return d;
}

/** Load `io.safetensors` of a fixture family. */
export function loadIO(family: string): Map<string, Tensor> {
  return loadSafetensors(path.join(fixtureDir(family), 'io.safetensors'));
}

/** Max |a − b| over all elements (shapes must match). */
export function maxAbsDiff(a: Tensor | ArrayLike<number>, b: Tensor | ArrayLike<number>): number {
  const x = a instanceof tf.Tensor ? a.dataSync() : a;
  const y = b instanceof tf.Tensor ? b.dataSync() : b;
  if (a instanceof tf.Tensor && b instanceof tf.Tensor) assert.deepEqual(a.shape, b.shape, 'shape mismatch');
  assert.equal(x.length, y.length, 'length mismatch');
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Assert max abs difference ≤ atol, with a message naming what was compared. */
export function assertClose(actual: Tensor | ArrayLike<number>, expected: Tensor | ArrayLike<number>, atol: number, what = 'tensor'): void {
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= atol, `${what}: max abs diff ${d.toExponential(3)} > ${atol}`);
}

/** Backends to test on: RAEV2_TEST_BACKENDS (comma list) or wasm + cpu. */
export function testBackends(): string[] {
  return (process.env.RAEV2_TEST_BACKENDS ?? 'wasm,cpu').split(',').map((s) => s.trim()).filter(Boolean);
}

/** Switch to a backend for a test (initialising it on first use). */
export async function useBackend(name: string): Promise<void> {
  await initRuntime({ backend: name as 'wasm' | 'cpu', log: false });
  await tf.setBackend(name);
}
