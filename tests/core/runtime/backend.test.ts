import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ROOT } from '../../helpers/fixtures.js';

/** Start a fresh node process that calls initRuntime() with RAEV2_BACKEND=value; report its output. */
function initIn(value: string): { code: number | null; out: string; ms: number } {
  const script = `import { initRuntime } from '@raev2/core';
initRuntime().then((b) => console.log('BACKEND=' + b), (e) => { console.log('ERROR=' + e.message); process.exitCode = 3; });`;
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--conditions=@raev2/source', '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, RAEV2_BACKEND: value, RAEV2_QUIET: '0' },
    encoding: 'utf8',
    timeout: 90_000, // a hang fails the test instead of stalling the suite
  });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}`, ms: Date.now() - t0 };
}

test('RAEV2_BACKEND=bogus fails with a message naming the value and the choices', () => {
  const r = initIn('bogus');
  assert.equal(r.code, 3, r.out);
  assert.match(r.out, /ERROR=RAEV2_BACKEND="bogus" is not one of auto, tensorflow, wasm, webgpu, cpu/);
});

test('RAEV2_BACKEND=tensorflow without tfjs-node fails with a message saying what to install', () => {
  const r = initIn('tensorflow');
  assert.equal(r.code, 3, r.out);
  assert.match(r.out, /ERROR=RAEV2_BACKEND=tensorflow needs @tensorflow\/tfjs-node/);
  assert.match(r.out, /tfjs-node: not installed/);
});

test('RAEV2_BACKEND=auto picks wasm when tfjs-node is absent and logs it once', () => {
  const r = initIn('auto');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^BACKEND=wasm/m);
  assert.equal(r.out.match(/\[raev2\] tensor backend: wasm/g)?.length, 1, r.out);
});

test('RAEV2_BACKEND=webgpu on a machine without a usable GPU fails clearly and does not hang', (t) => {
  const r = initIn('webgpu');
  if (/^BACKEND=webgpu/m.test(r.out)) {
    t.skip('this machine has a WebGPU adapter');
    return;
  }
  assert.equal(r.code, 3, `exit ${r.code} after ${r.ms} ms:\n${r.out}`);
  assert.match(r.out, /ERROR=RAEV2_BACKEND=webgpu: (no WebGPU adapter found|needs the optional|the WebGPU adapter request did not answer)/);
});
