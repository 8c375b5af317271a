/**
 * scripts/gpu-check.sh on a machine without an NVIDIA GPU: it must find the node binary it is
 * given (no node on PATH), run the CPU pass of the benchmark sections, print their tables, write the
 * JSON report, and say that the GPU passes were skipped. Bad arguments fail with a message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT } from '../helpers/fixtures.js';

const SCRIPT = path.join(ROOT, 'scripts', 'gpu-check.sh');

test('gpu-check.sh runs its CPU path with a carried node binary and no GPU', (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-gpu-check-'));
  t.after(() => fs.rmSync(out, { recursive: true, force: true }));
  // a PATH with the shell tools the script uses but no node and no nvidia-smi: it must use RAEV2_NODE
  const bin = path.join(out, 'bin');
  fs.mkdirSync(bin);
  for (const tool of ['dirname', 'sed', 'mkdir', 'env']) {
    const found = ['/usr/bin', '/bin'].map((d) => path.join(d, tool)).find((f) => fs.existsSync(f));
    assert.ok(found, `${tool} not found`);
    fs.symlinkSync(found, path.join(bin, tool));
  }
  const env = { ...process.env, PATH: bin, RAEV2_NODE: process.execPath, RAEV2_WASM_THREADS: '1' };
  const r = spawnSync('/bin/bash', [SCRIPT, '--out', out, '--', '--smoke', '--only', 'sampling,decoder'], { cwd: ROOT, env, encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`.slice(-3000));
  assert.match(r.stdout, new RegExp(`gpu-check: node ${process.version} at `));
  assert.match(r.stdout, /==== CPU: wasm \+ onnxruntime \(cpu provider\) ====/);
  assert.match(r.stdout, /## sampling throughput/);
  assert.match(r.stdout, /## RAE decoder throughput/);
  assert.match(r.stdout, /provider cpu/);
  assert.match(r.stdout, /no NVIDIA GPU found|GPU passes skipped/);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'cpu.json'), 'utf8')) as { sampling: unknown[]; decoder: unknown[] };
  assert.ok(report.sampling.length > 0 && report.decoder.length > 0);
});

test('gpu-check.sh rejects unknown arguments and a missing node', () => {
  const bad = spawnSync('/bin/bash', [SCRIPT, '--bogus'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown argument '--bogus'/);
  const noNode = spawnSync('/bin/bash', [SCRIPT, '--node', '/nonexistent/node'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(noNode.status, 2);
  assert.match(noNode.stderr, /no usable node binary/);
});
