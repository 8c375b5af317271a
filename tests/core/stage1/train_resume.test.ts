import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { latestCheckpoint, readCheckpointState, loadStats, SafetensorsFile } from '@raev2/core';
import { ROOT } from '../../helpers/fixtures.js';
import { writeSyntheticImages } from './helpers.js';

const SCRIPT = path.join('tests', 'core', 'stage1', 'run_child.ts');
const TOTAL = 20, EVERY = 5;

interface Exit { code: number | null; stdout: string; stderr: string }

function runChild(dir: string, data: string, delayMs: number, onLine?: (line: string, kill: () => void) => void): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@raev2/source', '--import', 'tsx', SCRIPT, dir, data, String(TOTAL), String(EVERY), String(delayMs)], {
      cwd: ROOT,
      env: { ...process.env, RAEV2_QUIET: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '', pending = '', killed = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) onLine?.(l, () => { if (!killed) { killed = true; child.kill('SIGINT'); } });
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** What must be identical between an uninterrupted run and an interrupted + resumed one. */
function fingerprint(dir: string) {
  const s = readCheckpointState(latestCheckpoint(dir)!);
  const log = fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const { time: _t, stepsPerSec: _s, ...rest } = JSON.parse(l);
    return rest;
  });
  return { step: s.step, epoch: s.epoch, rng: s.rng, extra: s.extra, files: s.files, modules: s.modules, log };
}

test('stage1 train: SIGINT checkpoints the current step, a rerun resumes and ends bit-identical to an uninterrupted run', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-stage1-'));
  const data = path.join(root, 'data');
  await writeSyntheticImages(data, 12, 16, 1);

  const refDir = path.join(root, 'ref');
  const ref = await runChild(refDir, data, 0);
  assert.equal(ref.code, 0, ref.stderr);
  assert.match(ref.stdout, /done 20 false/);
  const want = fingerprint(refDir);
  assert.deepEqual(want.modules, ['decoder', 'disc'], 'the discriminator heads are checkpointed with the decoder');
  // the finished run leaves the EMA decoder, the latent statistics, samples and the summary
  for (const f of ['decoder/config.json', 'decoder/model.safetensors', 'stats.safetensors', 'stage1.json', 'samples/final.png', 'samples/step-0000005.png']) {
    assert.ok(fs.existsSync(path.join(refDir, f)), `missing ${f}`);
  }
  const stats = loadStats(path.join(refDir, 'stats.safetensors'), [16, 16]);
  const sf = SafetensorsFile.open(path.join(refDir, 'stats.safetensors'));
  assert.equal(sf.metadata.count, '12', 'statistics over all 12 training images');
  sf.close();
  stats.var.dispose();
  stats.mean?.dispose();
  const log = want.log;
  assert.ok(log.some((l) => typeof l.discLoss === 'number'), 'D updates after discStart');
  assert.ok(log.some((l) => typeof l.lambda === 'number' && l.lambda > 0), 'the adaptive GAN weight is logged after ganStart');

  const dir = path.join(root, 'run');
  const stopped = await runChild(dir, data, 40, (l, kill) => l === `ckpt ${EVERY}` && kill());
  assert.equal(stopped.code, 130, stopped.stderr);
  const m = /done (\d+) true/.exec(stopped.stdout);
  assert.ok(m, `no "done … true" in ${JSON.stringify(stopped.stdout)}`);
  const at = Number(m[1]);
  assert.ok(at > EVERY && at < TOTAL, `stopped at ${at}`);
  assert.equal(readCheckpointState(latestCheckpoint(dir)!).step, at, 'checkpoint at the interrupted step');
  assert.ok(!fs.existsSync(path.join(dir, 'decoder')), 'an interrupted run does not export the decoder');
  const resumed = await runChild(dir, data, 0);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /done 20 false/);
  assert.deepEqual(fingerprint(dir), want);
  fs.rmSync(root, { recursive: true });
});
