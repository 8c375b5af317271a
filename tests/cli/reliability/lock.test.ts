import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { acquireRunLock, listCheckpoints, readCheckpointState, latestCheckpoint, RunLockedError } from '@raev2/core';
import { runCli, smallStage1, startCli, syntheticData, tmpDir, waitFor } from './helpers.js';

test('two concurrent `stage1 train` on one --out: the second is refused at once, naming the holder; the first finishes intact', async () => {
  const data = await syntheticData();
  const out = path.join(tmpDir('lock'), 'run');
  const first = startCli(smallStage1(data, out, 100000, ['--checkpoint-every', '1']));
  await waitFor(() => fs.existsSync(path.join(out, 'run.lock')) && listCheckpoints(out).length > 0, 50_000, 'the first run to checkpoint', first.done);
  const holder = JSON.parse(fs.readFileSync(path.join(out, 'run.lock'), 'utf8')) as { pid: number; host: string; startedAt: string };
  assert.equal(holder.host, os.hostname());
  const t0 = Date.now();
  const second = await runCli(smallStage1(data, out, 3));
  const secs = (Date.now() - t0) / 1000;
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stderr, new RegExp(`run folder .*run is in use by pid ${holder.pid} on ${os.hostname()}, started ${holder.startedAt}`));
  assert.doesNotMatch(second.stderr, /ENOTEMPTY|ENOENT/);
  first.child.kill('SIGINT');
  const r = await first.done;
  assert.equal(r.code, 130, r.stderr);
  // the first run's checkpoints and log are its own: every log line once, in order, up to the saved step
  const step = readCheckpointState(latestCheckpoint(out)!).step;
  const steps = fs.readFileSync(path.join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step as number);
  assert.deepEqual(steps, Array.from({ length: step }, (_, i) => i + 1));
  assert.ok(secs < 60, `the refusal took ${secs} s`);
  assert.deepEqual(fs.readdirSync(out).filter((n) => /\.tmp-|\.old-|run\.lock/.test(n)), []);
  fs.rmSync(path.dirname(out), { recursive: true });
});

test('a stale lock (its process is dead) is taken over with a warning; a live one in-process is re-entrant only for its holder', async () => {
  const data = await syntheticData();
  const out = path.join(tmpDir('stale'), 'run');
  fs.mkdirSync(out, { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  fs.writeFileSync(path.join(out, 'run.lock'), JSON.stringify({ pid: Number(dead), host: os.hostname(), startedAt: '2026-01-01T00:00:00.000Z', command: 'stage1 train' }));
  const r = await runCli(smallStage1(data, out, 2));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`warning: .*run: taking over the stale run lock of pid ${dead} on ${os.hostname()}, started 2026-01-01T00:00:00.000Z \\(stage1 train\\), which is no longer running`));
  assert.equal(readCheckpointState(latestCheckpoint(out)!).step, 2);
  assert.ok(!fs.existsSync(path.join(out, 'run.lock')));

  // in process: a lock held by this process is re-entrant; one held by another live process is refused
  const a = acquireRunLock(out);
  const b = acquireRunLock(out);
  b.release();
  assert.ok(fs.existsSync(path.join(out, 'run.lock')), 'still held by the outer holder');
  a.release();
  assert.ok(!fs.existsSync(path.join(out, 'run.lock')));
  fs.writeFileSync(path.join(out, 'run.lock'), JSON.stringify({ pid: process.ppid, host: os.hostname(), startedAt: 'then' }));
  assert.throws(() => acquireRunLock(out), (e: Error) => e instanceof RunLockedError && e.message.includes(`pid ${process.ppid}`));
  fs.writeFileSync(path.join(out, 'run.lock'), JSON.stringify({ pid: 1, host: 'another-host', startedAt: 'then' }));
  assert.throws(() => acquireRunLock(out), /in use by pid 1 on another-host.*remove .*run\.lock if it is no longer running/);
  fs.rmSync(path.dirname(out), { recursive: true });
});
