import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { latestCheckpoint, listCheckpoints, readCheckpointState } from '@raev2/core';
import { alive, smallStage1, startCli, syntheticData, tmpDir, waitFor } from './helpers.js';

/** The step the stop message names must be the step of the checkpoint on disk, which `latest` points to. */
function checkStopped(out: string, stderr: string): number {
  const m = /stopped after step (\d+); checkpoint (\S+) saved/.exec(stderr);
  assert.ok(m, `no "stopped after step N; checkpoint … saved" in:\n${stderr}`);
  const step = Number(m[1]);
  assert.equal(path.basename(m[2]), `ckpt-${step}`);
  assert.equal(readCheckpointState(latestCheckpoint(out)!).step, step, 'latest is the checkpoint the message names');
  const first = /SIG(?:INT|TERM): (?:finishing step (\d+)|stopping after step (\d+))/.exec(stderr);
  assert.ok(first, stderr);
  assert.equal(Number(first[1] ?? first[2]), step, 'the first message names the step really saved');
  assert.ok(!fs.existsSync(path.join(out, 'run.lock')), 'the run lock is released');
  return step;
}

test('Ctrl-C (SIGINT to the raev2 bin): the run checkpoints the step it names and exits 130', async () => {
  const data = await syntheticData();
  const out = path.join(tmpDir('sigint'), 'run');
  const { child, done } = startCli(smallStage1(data, out, 100000, ['--checkpoint-every', '2']));
  await waitFor(() => listCheckpoints(out).length > 0, 50_000, 'the first checkpoint', done);
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  checkStopped(out, r.stderr);
  fs.rmSync(path.dirname(out), { recursive: true });
});

test('SIGTERM to `npm run raev2`: npm waits for the node process, which checkpoints and exits 130; nothing keeps running', async () => {
  const data = await syntheticData();
  const out = path.join(tmpDir('sigterm'), 'run');
  const { child, done } = startCli(smallStage1(data, out, 100000, ['--checkpoint-every', '2']), { npm: true });
  await waitFor(() => fs.existsSync(path.join(out, 'run.lock')) && listCheckpoints(out).length > 0, 50_000, 'the first checkpoint', done);
  const holder = JSON.parse(fs.readFileSync(path.join(out, 'run.lock'), 'utf8')) as { pid: number };
  child.kill('SIGTERM');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  assert.ok(!alive(holder.pid), `the training process ${holder.pid} is still running after npm exited`);
  checkStopped(out, r.stderr);
  fs.rmSync(path.dirname(out), { recursive: true });
});
