import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { tf, Linear, Rng, latestCheckpoint, readCheckpointState, runTraining, type LogRecord } from '@raev2/core';
import { ROOT, useBackend } from '../../helpers/fixtures.js';

const SCRIPT = path.join('tests', 'core', 'train', 'mlp_run.ts');
const TOTAL = 40, EVERY = 10;

interface Exit { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Run mlp_run.ts; `onLine` may kill the child. */
function runChild(dir: string, delayMs: number, onLine?: (line: string, kill: (s: NodeJS.Signals, times?: number) => void) => void, stopAt?: number): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@raev2/source', '--import', 'tsx', SCRIPT, dir, String(TOTAL), String(EVERY), String(delayMs), ...(stopAt != null ? [String(stopAt)] : [])], {
      cwd: ROOT,
      env: { ...process.env, RAEV2_QUIET: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '', pending = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      // a repeated signal follows 30 ms later, as a launcher's forwarded copy does (signals sent together coalesce)
      for (const l of lines) onLine?.(l, (s, times = 1) => { if (!killed) { killed = true; for (let i = 0; i < times; i++) setTimeout(() => child.kill(s), 30 * i); } });
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Everything a finished run leaves that must be bit-identical: file checksums, rng, epoch, extra, and the logged scalars. */
function fingerprint(dir: string) {
  const ckpt = latestCheckpoint(dir);
  assert.ok(ckpt, `no checkpoint in ${dir}`);
  const s = readCheckpointState(ckpt);
  const log = fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const { time: _t, stepsPerSec: _s, ...rest } = JSON.parse(l);
    return rest;
  });
  return { step: s.step, epoch: s.epoch, rng: s.rng, extra: s.extra, files: s.files, log };
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-loop-'));
let reference: ReturnType<typeof fingerprint>;

test('runTraining: an uninterrupted run checkpoints every k steps and logs', async () => {
  const dir = tmp();
  const r = await runChild(dir, 0);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['ckpt 10', 'ckpt 20', 'ckpt 30', 'ckpt 40', 'done 40 false']);
  reference = fingerprint(dir);
  assert.equal(reference.step, TOTAL);
  assert.equal(reference.epoch, 4, '8 steps per epoch: step 40 ends epoch 4 (0-based)');
  assert.equal(reference.extra.seen, TOTAL * 8);
  assert.deepEqual(Object.keys(reference.extra).sort(), ['sampler', 'seen']);
  assert.deepEqual(reference.log.map((l) => l.step), [5, 10, 15, 20, 25, 30, 35, 40]);
  assert.ok(reference.log[7].loss < reference.log[0].loss, `loss should fall: ${reference.log[0].loss} → ${reference.log[7].loss}`);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['ckpt-20', 'ckpt-30', 'ckpt-40', 'latest', 'log.jsonl']);
  fs.rmSync(dir, { recursive: true });
});

test('runTraining: SIGKILL mid-run, resume → bit-identical to the uninterrupted run', async () => {
  const dir = tmp();
  const killed = await runChild(dir, 25, (l, kill) => l === 'ckpt 10' && kill('SIGKILL'));
  assert.equal(killed.signal, 'SIGKILL');
  assert.doesNotMatch(killed.stdout, /done/);
  const at = readCheckpointState(latestCheckpoint(dir)!).step;
  assert.ok(at >= EVERY && at < TOTAL, `killed run's latest checkpoint is at step ${at}`);
  const resumed = await runChild(dir, 0);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /done 40 false/);
  assert.deepEqual(fingerprint(dir), reference);
  fs.rmSync(dir, { recursive: true });
});

test('runTraining: SIGINT finishes the step, checkpoints, exits 130; resume continues bit-identically', async () => {
  const dir = tmp();
  const stopped = await runChild(dir, 25, (l, kill) => l === 'ckpt 10' && kill('SIGINT'));
  assert.equal(stopped.code, 130, stopped.stderr);
  const m = /done (\d+) true/.exec(stopped.stdout);
  assert.ok(m, `no "done … true" line in ${JSON.stringify(stopped.stdout)}`);
  const at = Number(m[1]);
  assert.ok(at > EVERY && at < TOTAL, `stopped at step ${at}`);
  assert.match(stopped.stdout, new RegExp(`ckpt ${at}\\n`), 'a checkpoint is written at the interrupted step');
  assert.equal(readCheckpointState(latestCheckpoint(dir)!).step, at);
  // the signal lands during a step (that step completes) or between steps: either way the message names the step saved
  const msg = /SIGINT: (?:finishing step|stopping after step) (\d+)/.exec(stopped.stderr);
  assert.ok(msg, stopped.stderr);
  assert.equal(Number(msg[1]), at, stopped.stderr);
  assert.match(stopped.stderr, new RegExp(`stopped after step ${at}; checkpoint .*ckpt-${at} saved`));
  const resumed = await runChild(dir, 0);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /done 40 false/);
  assert.deepEqual(fingerprint(dir), reference);
  fs.rmSync(dir, { recursive: true });
});

test('runTraining: one SIGINT delivered twice at once (process group + launcher) still finishes the step and checkpoints', async () => {
  const dir = tmp();
  const stopped = await runChild(dir, 25, (l, kill) => l === 'ckpt 10' && kill('SIGINT', 2));
  assert.equal(stopped.code, 130, stopped.stderr);
  const m = /done (\d+) true/.exec(stopped.stdout);
  assert.ok(m, `the run exited without checkpointing: ${JSON.stringify(stopped.stdout)}\n${stopped.stderr}`);
  assert.equal(readCheckpointState(latestCheckpoint(dir)!).step, Number(m[1]));
  const resumed = await runChild(dir, 0);
  assert.match(resumed.stdout, /done 40 false/);
  assert.deepEqual(fingerprint(dir), reference);
  fs.rmSync(dir, { recursive: true });
});

test('runTraining stopAt: stops after that step of the full schedule and checkpoints; the same run without it continues bit-identically', async () => {
  const dir = tmp();
  const stopped = await runChild(dir, 0, undefined, 17);
  assert.deepEqual(stopped.stdout.trim().split('\n'), ['ckpt 10', 'ckpt 17', 'done 17 true']);
  assert.match(stopped.stderr, /stopped at step 17 of 40 as asked; checkpoint .*ckpt-17 saved/);
  assert.equal(readCheckpointState(latestCheckpoint(dir)!).step, 17);
  const again = await runChild(dir, 0, undefined, 17); // already there: nothing to do, nothing rewritten
  assert.deepEqual(again.stdout.trim().split('\n'), ['done 17 true']);
  const resumed = await runChild(dir, 0);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /done 40 false/);
  assert.deepEqual(fingerprint(dir), reference);
  fs.rmSync(dir, { recursive: true });
});

test('runTraining (in process): averaged log lines, NaN guard, no silent restart, config check on resume', async () => {
  await useBackend('cpu');
  const dir = tmp();
  const net = new Linear(2, 2, { rng: new Rng(1) });
  const logs: LogRecord[] = [];
  const base = { dir, totalSteps: 10, checkpointEvery: 5, logEvery: 2, modules: { net }, rng: new Rng(0), config: { width: 2 }, handleSignals: false };
  await assert.rejects(
    runTraining({ ...base, step: ({ step }) => ({ loss: step === 6 ? NaN : step + 1 }), onLog: (r) => logs.push(r) }),
    /loss is NaN at step 7; the last checkpoint that passed the check is .*ckpt-5/,
  );
  assert.deepEqual(logs.map((r) => [r.step, r.loss]), [[2, 1.5], [4, 3.5], [6, 5.5]]);
  assert.equal(readCheckpointState(latestCheckpoint(dir)!).step, 5);
  await assert.rejects(runTraining({ ...base, resume: false, step: () => ({}) }), /already holds checkpoints/);
  await assert.rejects(runTraining({ ...base, config: { width: 3 }, step: () => ({}) }), /width: saved 2, now 3/);
  const r = await runTraining({ ...base, step: ({ step }) => ({ loss: step + 1 }) });
  assert.deepEqual([r.step, r.interrupted, r.resumedFrom], [10, false, path.join(dir, 'ckpt-5')]);
  const lines = fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  // the step-6 line of the failed run is dropped; step 6 averages steps 5 (from the checkpointed window) and 6
  assert.deepEqual(lines.map((l) => [l.step, l.loss]), [[2, 1.5], [4, 3.5], [6, 5.5], [8, 7.5], [10, 9.5]]);
  net.dispose();
  fs.rmSync(dir, { recursive: true });
});

test('runTraining non-finite guard: weights that overflow (|w| > √FLT_MAX) or NaN are never checkpointed; a NaN gradient norm stops the run; both name the last checkpoint that passed', async () => {
  await useBackend('cpu');
  const dir = tmp();
  const net = new Linear(2, 2, { rng: new Rng(1) });
  const base = { dir, totalSteps: 10, checkpointEvery: 2, modules: { net }, rng: new Rng(0), config: { width: 2 }, handleSignals: false };
  const blowUp = (value: number) => ({ step }: { step: number }) => {
    if (step === 2) for (const [, p] of net.namedParameters()) tf.tidy(() => p.assign(tf.fill(p.shape, value)));
    return { loss: 1 };
  };
  // step 3 sets every weight to 5e29 (what --lr 1e30 gives after one step): the checkpoint at step 4 is refused
  await assert.rejects(runTraining({ ...base, step: blowUp(5e29) }), /checkpoint at step 4 not written: non-finite values \(NaN, Inf or \|x\| > 1\.84e\+19\) in net\.weight \(4 of 4\), net\.bias \(2 of 2\); the last checkpoint that passed the check is .*ckpt-2/);
  assert.equal(readCheckpointState(latestCheckpoint(dir)!).step, 2);
  assert.deepEqual(fs.readdirSync(dir).filter((n) => /\.tmp-|run\.lock/.test(n)), []);
  fs.rmSync(dir, { recursive: true });
  const dir2 = tmp();
  await assert.rejects(runTraining({ ...base, dir: dir2, step: ({ step }) => ({ loss: 1, gradNorm: step === 0 ? NaN : 1 }) }), /gradNorm is NaN at step 1; the last checkpoint that passed the check is \(none/);
  assert.equal(latestCheckpoint(dir2), null);
  net.dispose();
  fs.rmSync(dir2, { recursive: true });
});
