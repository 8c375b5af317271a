/**
 * Smoke test of the benchmark harness: tiny sizes, one run each. Checks that every section
 * produces finite positive throughputs, that tfjs and onnxruntime agree on the benchmarked
 * computations, that nothing leaks, and that the CLI prints its tables.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tf, initRuntime } from '@raev2/core';
import { runBench } from '../../bench/run.js';
import { medianMs } from '../../bench/timing.js';
import { countMatmulFlops } from '../../bench/flops.js';
import { threadCounts } from '../../bench/scaling.js';
import { readDemoTimings } from '../../bench/demo_eval.js';
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
  const report = await runBench({ smoke: true, sections: ['matmul', 'block', 'encoder', 'dit-train', 'sampling', 'decoder'] });
  assert.equal(tf.memory().numTensors, before, 'the bench leaked tensors');
  assert.equal(tf.getBackend(), backend, 'the bench did not restore the backend');
  assert.equal(report.tables.length, 6);
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
    positive(r.engine, `encoder ${r.name} ortEncoder`);
    assert.ok(r.relDiff < 1e-4, `encoder ${r.name}: tfjs vs onnx rel diff ${r.relDiff}`);
  }
  for (const r of report.ditTrain!) {
    positive(r.stepsPerSec, 'DiT train steps/s');
    positive(r.nativeGflops, 'native GEMM rate');
    assert.ok(r.mfu > 0 && r.mfu < 1, `MFU ${r.mfu} out of (0, 1)`);
    positive(r.peakRssMb, 'peak RSS');
  }
  for (const r of report.sampling!) {
    positive(r.tfjs, `sampling ${r.guidance} tfjs`);
    positive(r.ort, `sampling ${r.guidance} ort`);
    assert.equal(r.nfePerImage, r.steps * (r.guidance === 'cfg' ? 2 : 1), `${r.guidance}: NFE per image`);
    assert.ok(r.diff < 1e-4, `sampling ${r.guidance}: tfjs vs ort ${r.diff}`);
  }
  for (const r of report.decoder!) {
    positive(r.tfjs, 'decoder tfjs');
    positive(r.ort, 'decoder ort');
    assert.ok(r.diff < 1e-4, `decoder: tfjs vs ort ${r.diff}`);
  }
  assert.ok(report.machine.cores >= 1 && report.machine.cpu.length > 0);
});

test('the DiT^DH step FLOP count equals an analytic count of its matmuls', async () => {
  await initRuntime({ log: false });
  // one Linear on [B·N, in] → [.., out] and one attention product: 2·M·N·K each
  const x = tf.ones([6, 5]), w = tf.ones([7, 5]), q = tf.ones([2, 3, 4, 8]), k = tf.ones([2, 3, 4, 8]);
  const { flops, shapes } = countMatmulFlops(() => {
    tf.dispose([tf.matMul(x, w, false, true), tf.matMul(q, k, false, true)]);
  });
  assert.equal(flops, 2 * 6 * 7 * 5 + 2 * 6 * 4 * 4 * 8);
  assert.deepEqual(shapes.map((s) => [s.m, s.k, s.n]), [[4, 8, 4], [6, 5, 7]]); // most FLOPs first
  tf.dispose([x, w, q, k]);
});

test('thread scaling runs 1 → N threads in child processes', async () => {
  assert.deepEqual(threadCounts(1), [1]);
  assert.deepEqual(threadCounts(2), [1, 2]);
  assert.deepEqual(threadCounts(6), [1, 2, 4, 6]);
  assert.deepEqual(threadCounts(8), [1, 2, 4, 8]);
});

test('npm run bench -- --smoke prints the machine and the tables', () => {
  const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-bench-test-')), 'report.json');
  const r = spawnSync(process.execPath, ['--conditions=@raev2/source', '--import', 'tsx', path.join(ROOT, 'bench/index.ts'), '--smoke', '--only', 'matmul,scaling', '--no-cpu', '--json', json], {
    cwd: ROOT, encoding: 'utf8', timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  assert.match(r.stdout, /^machine: .+ logical cores/m);
  assert.match(r.stdout, /## matmul \(GFLOP\/s, median\)/);
  assert.doesNotMatch(r.stdout, /## transformer block/);
  assert.match(r.stdout, /## thread scaling: DiT\^DH training step/);
  const report = JSON.parse(fs.readFileSync(json, 'utf8')) as { scaling: { threads: number; baseline: boolean; cases: { stepsPerSec: number }[] }[]; matmul: unknown[] };
  assert.deepEqual(report.scaling.map((s) => s.threads), [1, ...threadCounts(Math.min(8, os.availableParallelism()))]);
  assert.equal(report.scaling[0].baseline, true);
  assert.ok(report.scaling.every((s) => s.cases.length > 0 && s.cases.every((c) => c.stepsPerSec > 0)));
  fs.rmSync(path.dirname(json), { recursive: true, force: true });
  const bad = spawnSync(process.execPath, ['--conditions=@raev2/source', '--import', 'tsx', path.join(ROOT, 'bench/index.ts'), '--only', 'nope'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--only.*unknown section\(s\) nope/s);
});

test('bench demo-eval (smoke): the shipped demo runs in a child with the default engine and keeps its scores', async () => {
  await initRuntime({ log: false });
  const report = await runBench({ smoke: true, sections: ['demo-eval'] });
  const [r] = report.demoEval!;
  assert.equal(r.settings, 'default');
  positive(r.stages.evaluation, 'evaluation stage seconds');
  // the shipped checkpoint's published scores (README): untrained, unguided, free guidance 1.78
  [14.379, 1.190, 1.439].forEach((want, i) => assert.ok(Math.abs(r.fdLatent[i] - want) < 2e-3, `FD latent ${i}: ${r.fdLatent[i]} vs ${want}`));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-bench-test-'));
  const bad = path.join(dir, 'metrics.json');
  fs.writeFileSync(bad, JSON.stringify({ timings: { stages: {} } }));
  assert.throws(() => readDemoTimings(bad), (e: Error) => e.message.includes(bad) && /generation/.test(e.message));
  fs.rmSync(dir, { recursive: true, force: true });
});
