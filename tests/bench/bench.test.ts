/**
 * Smoke test of the benchmark harness: tiny sizes, one run each. Checks that every section
 * produces finite positive throughputs, that tfjs and onnxruntime agree on the benchmarked
 * computations, that nothing leaks, and that the CLI prints its tables.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tf, initRuntime } from '@raev2/core';
import { runBench } from '../../bench/run.js';
import { medianMs } from '../../bench/timing.js';
import { renderTable } from '../../bench/table.js';
import { ROOT } from '../helpers/fixtures.js';

const positive = (v: number | null, what: string) => assert.ok(v != null && Number.isFinite(v) && v > 0, `${what}: ${v}`);

test('medianMs runs warm-ups then the timed repeats', async () => {
  let calls = 0;
  const ms = await medianMs(() => { calls++; }, { warmup: 2, repeats: 3 });
  assert.equal(calls, 5);
  assert.ok(ms >= 0);
});

test('renderTable aligns columns', () => {
  const s = renderTable({ title: 't', headers: ['a', 'bb'], rows: [['xyz', '1.0'], ['q', '10.25']] });
  assert.deepEqual(s.split('\n'), ['## t', 'a       bb', '---  -----', 'xyz    1.0', 'q    10.25']);
});

test('bench --smoke: every section yields finite throughputs and tfjs ≈ onnx', async () => {
  await initRuntime({ log: false });
  const backend = tf.getBackend();
  const before = tf.memory().numTensors;
  const report = await runBench({ smoke: true });
  assert.equal(tf.memory().numTensors, before, 'the bench leaked tensors');
  assert.equal(tf.getBackend(), backend, 'the bench did not restore the backend');
  assert.equal(report.tables.length, 3);
  for (const r of report.matmul!) {
    positive(r.backend, `matmul ${r.name} ${backend}`);
    positive(r.onnx, `matmul ${r.name} onnx`);
    if (backend !== 'cpu') positive(r.cpu, `matmul ${r.name} cpu`);
    assert.ok(r.relDiff < 1e-5, `matmul ${r.name}: tfjs vs onnx rel diff ${r.relDiff}`);
  }
  for (const r of report.block!) {
    positive(r.forward, 'block forward');
    positive(r.train, 'block train step');
  }
  for (const r of report.encoder!) {
    positive(r.tfjs, `encoder ${r.name} tfjs`);
    positive(r.onnx, `encoder ${r.name} onnx`);
    assert.ok(r.relDiff < 1e-4, `encoder ${r.name}: tfjs vs onnx rel diff ${r.relDiff}`);
  }
  assert.ok(report.machine.cores >= 1 && report.machine.cpu.length > 0);
});

test('npm run bench -- --smoke prints the machine and the tables', () => {
  const r = spawnSync(process.execPath, ['--conditions=@raev2/source', '--import', 'tsx', path.join(ROOT, 'bench/index.ts'), '--smoke', '--only', 'matmul', '--no-cpu'], {
    cwd: ROOT, encoding: 'utf8', timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  assert.match(r.stdout, /^machine: .+ logical cores/m);
  assert.match(r.stdout, /## matmul \(GFLOP\/s, median\)/);
  assert.doesNotMatch(r.stdout, /## transformer block/);
  const bad = spawnSync(process.execPath, ['--conditions=@raev2/source', '--import', 'tsx', path.join(ROOT, 'bench/index.ts'), '--only', 'nope'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--only.*unknown section\(s\) nope/s);
});
