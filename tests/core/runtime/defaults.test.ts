/**
 * Start-up defaults, in a fresh process each: without RAEV2_WASM_THREADS the wasm backend runs one
 * thread per available core (at most 8), `RAEV2_WASM_THREADS=1` opts out, and tfjs' "install our
 * node backend" banner never prints (the runtime logs its one backend line instead), even when the
 * cpu backend is used (it is, for fallback kernels and tests).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import { spawnSync } from 'node:child_process';
import { resolveWasmThreads, MAX_WASM_THREADS } from '@raev2/core';
import { ROOT } from '../../helpers/fixtures.js';

const SCRIPT = `import { tf, initRuntime } from '@raev2/core';
await initRuntime();
await tf.setBackend('cpu');
tf.tensor([1, 2, 3]).square().dataSync();
await tf.setBackend('wasm');
console.log('done');`;

/** A tensor made on the cpu backend before initRuntime (a library user's script). */
const EARLY = `import { tf, initRuntime } from '@raev2/core';
tf.tensor([1, 2]).square().dataSync();
await initRuntime();
console.log('done');`;

function start(env: Record<string, string | undefined>, script = SCRIPT): { out: string; status: number | null } {
  const full: Record<string, string | undefined> = { ...process.env, RAEV2_QUIET: '0', RAEV2_BACKEND: 'auto', ...env };
  for (const [k, v] of Object.entries(full)) if (v == null) delete full[k];
  const r = spawnSync(process.execPath, ['--conditions=@raev2/source', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env: full as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 90_000 });
  return { out: `${r.stdout}\n${r.stderr}`, status: r.status };
}

test('wasm threads default to the available cores (≤ 8); RAEV2_WASM_THREADS=1 opts out; no tfjs banner', () => {
  const cores = Math.min(MAX_WASM_THREADS, os.availableParallelism());
  const dflt = start({ RAEV2_WASM_THREADS: undefined });
  assert.equal(dflt.status, 0, dflt.out);
  assert.match(dflt.out, /done/);
  assert.equal(dflt.out.match(/\[raev2\] tensor backend: /g)?.length, 1, dflt.out);
  assert.match(dflt.out, new RegExp(`\\[raev2\\] tensor backend: wasm \\(${cores} threads\\)`), dflt.out);
  assert.doesNotMatch(dflt.out, /node backend|speed things up|Hi, looks like/i, 'the tfjs banner was printed');
  const one = start({ RAEV2_WASM_THREADS: '1' });
  assert.equal(one.status, 0, one.out);
  assert.match(one.out, /\[raev2\] tensor backend: wasm \(1 threads\)/);
  assert.doesNotMatch(one.out, /node backend|speed things up/i);
  const early = start({ RAEV2_WASM_THREADS: '1' }, EARLY);
  assert.equal(early.status, 0, early.out);
  assert.match(early.out, /done/);
  assert.doesNotMatch(early.out, /node backend|speed things up|Hi, looks like/i, 'the banner was printed for a tensor made before initRuntime');
});

test('resolveWasmThreads: unset or empty = auto = available cores, explicit values validated', () => {
  const saved = process.env.RAEV2_WASM_THREADS;
  try {
    const cores = Math.min(MAX_WASM_THREADS, os.availableParallelism());
    delete process.env.RAEV2_WASM_THREADS;
    assert.equal(resolveWasmThreads(), cores);
    process.env.RAEV2_WASM_THREADS = '';
    assert.equal(resolveWasmThreads(), cores);
    process.env.RAEV2_WASM_THREADS = '1';
    assert.equal(resolveWasmThreads(), 1);
    process.env.RAEV2_WASM_THREADS = 'lots';
    assert.throws(() => resolveWasmThreads(), /RAEV2_WASM_THREADS \/ threads="lots"/);
    assert.equal(resolveWasmThreads(2), 2);
  } finally {
    if (saved == null) delete process.env.RAEV2_WASM_THREADS;
    else process.env.RAEV2_WASM_THREADS = saved;
  }
});
