import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ROOT } from '../../helpers/fixtures.js';

// One fresh node process tries each RAEV2_BACKEND value in turn (the failing ones first: they leave
// no backend behind) and prints `<value>: BACKEND=<name>` or `<value>: ERROR=<message>` per try.
const VALUES = ['bogus', 'tensorflow', 'webgpu', 'auto'];
let out = '';
let ms = 0;

before(() => {
  const script = `import { initRuntime } from '@raev2/core';
for (const v of ${JSON.stringify(VALUES)}) {
  process.env.RAEV2_BACKEND = v;
  try { console.log(v + ': BACKEND=' + (await initRuntime())); } catch (e) { console.log(v + ': ERROR=' + e.message); }
}`;
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--conditions=@raev2/source', '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, RAEV2_QUIET: '0' },
    encoding: 'utf8',
    timeout: 90_000, // a hang (e.g. a GPU query) fails the tests instead of stalling the suite
  });
  ms = Date.now() - t0;
  out = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.status, 0, `child exited ${r.status} (signal ${r.signal}) after ${ms} ms:\n${out}`);
});

const line = (v: string) => out.split('\n').find((l) => l.startsWith(`${v}: `)) ?? `${v}: (no result)\n${out}`;

test('RAEV2_BACKEND=bogus fails with a message naming the value and the choices', () => {
  assert.match(line('bogus'), /ERROR=RAEV2_BACKEND="bogus" is not one of auto, tensorflow, wasm, webgpu, cpu/);
});

test('RAEV2_BACKEND=tensorflow without tfjs-node fails with a message saying what to install', () => {
  assert.match(line('tensorflow'), /ERROR=RAEV2_BACKEND=tensorflow needs @tensorflow\/tfjs-node.*tfjs-node: not installed/);
});

test('RAEV2_BACKEND=webgpu on a machine without a usable GPU fails clearly and does not hang', (t) => {
  if (/BACKEND=webgpu$/.test(line('webgpu'))) {
    t.skip('this machine has a WebGPU adapter');
    return;
  }
  assert.match(line('webgpu'), /ERROR=RAEV2_BACKEND=webgpu: (no WebGPU adapter found|needs the optional|the WebGPU adapter request did not answer)/);
});

test('RAEV2_BACKEND=auto picks wasm when tfjs-node is absent and logs the backend once', () => {
  assert.match(line('auto'), /BACKEND=wasm$/);
  assert.equal(out.match(/\[raev2\] tensor backend: wasm/g)?.length, 1, out);
});
