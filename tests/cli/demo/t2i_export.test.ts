/**
 * `demo-export --task t2i` records `npm run demo -- --task t2i --train …` read back from the configs the
 * run's three trainings saved; the line must parse back (the demo's own flag parser) to those settings.
 * `--stop-at` on the training commands: a bad value is named before any work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Linear, Rng, runTraining } from '@raev2/core';
import { parseTrainArgs, parseStage2TrainArgs } from '@raev2/cli';
import { t2iDemoTrainingCommand, parseT2IDemoArgs, T2I_DEMO_STEPS } from '../../../packages/cli/src/demo/t2i/run.js';
import { useBackend } from '../../helpers/fixtures.js';

/** A work folder with what the three trainings leave: the tower's retrieval.json and one checkpoint each. */
async function workFolder(o: { tower: number; decoder: number; dit: number; seeds?: [number, number, number] }): Promise<string> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-t2i-work-'));
  const [ts, ds, ms] = o.seeds ?? [0, 0, 0];
  fs.mkdirSync(path.join(work, 'tower'));
  fs.writeFileSync(path.join(work, 'tower', 'retrieval.json'), JSON.stringify({ config: { steps: o.tower, seed: ts, batch: 64 } }));
  for (const [dir, config] of [['stage1', { steps: o.decoder, seed: ds, imageSize: 96 }], ['dit', { t2i: { steps: o.dit, seed: ms }, shift: 1 }]] as const) {
    const net = new Linear(2, 2, { rng: new Rng(0) });
    await runTraining({ dir: path.join(work, dir), totalSteps: 1, checkpointEvery: 1, modules: { net }, rng: new Rng(0), config, handleSignals: false, step: () => ({ loss: 1 }) });
    net.dispose();
  }
  return work;
}

test('demo-export --task t2i: the recorded rebuild command parses back to the steps and seed its runs were trained with', async () => {
  await useBackend('cpu');
  const defaults = await workFolder({ tower: T2I_DEMO_STEPS.tower, decoder: T2I_DEMO_STEPS.decoder, dit: T2I_DEMO_STEPS.dit });
  assert.equal(t2iDemoTrainingCommand(defaults, 'outputs/x'), 'npm run demo -- --task t2i --train --out outputs/x');
  const custom = await workFolder({ tower: 20, decoder: 300, dit: 500, seeds: [4, 4, 4] });
  const line = t2iDemoTrainingCommand(custom, 'outputs/y');
  const f = parseT2IDemoArgs(line.replace(/^npm run demo -- /, '').split(' '));
  assert.deepEqual([f.train, f['tower-steps'], f['decoder-steps'], f['dit-steps'], f.seed, f.out], [true, 20, 300, 500, 4, 'outputs/y']);
  const mixed = await workFolder({ tower: 800, decoder: 1350, dit: 3000, seeds: [0, 1, 0] });
  assert.throws(() => t2iDemoTrainingCommand(mixed, 'o'), /different seeds \(0, 1, 0\)/);
  fs.rmSync(path.join(defaults, 'dit'), { recursive: true });
  assert.throws(() => t2iDemoTrainingCommand(defaults, 'o'), /dit: no checkpoint/);
  for (const d of [defaults, custom, mixed]) fs.rmSync(d, { recursive: true, force: true });
});

test('--stop-at: a step that is not a positive integer is named before any work', () => {
  const base = ['--data', 'folder:/nonexistent', '--out', '/tmp/never'];
  for (const bad of ['0', '2.5', 'soon']) {
    assert.throws(() => parseTrainArgs([...base, '--stop-at', bad]), new RegExp(`--stop-at ${bad}: must be a positive integer step`));
    assert.throws(() => parseStage2TrainArgs([...base, '--stage1', '/nonexistent', '--stop-at', bad]), new RegExp(`--stop-at ${bad}`));
  }
  assert.equal(parseTrainArgs([...base, '--stop-at', '7']).stopAt, 7);
});
