import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseT2ITrainArgs, readPrompts, t2iCommands, guidanceAtEqualNfe, runT2IEval } from '@raev2/t2i';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

test('t2i train flags: parsed into the config, bad values named by flag', () => {
  const { config, resume } = parseT2ITrainArgs(['--text-encoder', 'hf:x', '--out', 'o', '--steps', '5', '--mask-pads', 'off', '--lr', '2e-3', '--variant', 'shuffled', '--resume', 'no']);
  assert.equal(config.steps, 5);
  assert.equal(config.text.maskPads, false);
  assert.equal(config.optimizer.lr, 2e-3);
  assert.equal(config.variant, 'shuffled');
  assert.equal(resume, false);
  assert.equal(config.groupSampling, 1);
  assert.equal(parseT2ITrainArgs(['--text-encoder', 'x', '--out', 'o', '--group-sampling', '0.5']).config.groupSampling, 0.5);
  assert.throws(() => parseT2ITrainArgs(['--text-encoder', 'x', '--out', 'o', '--group-sampling', '1.5']), /groupSampling/);
  assert.throws(() => parseT2ITrainArgs(['--text-encoder', 'x', '--out', 'o', '--steps', 'many']), /--steps.*must be a non-negative integer/s);
  assert.throws(() => parseT2ITrainArgs(['--text-encoder', 'x', '--out', 'o', '--mask-pads', 'maybe']), /--mask-pads/);
  assert.throws(() => parseT2ITrainArgs(['--text-encoder', 'x', '--out', 'o', '--bogus', '1']), /bogus/);
  assert.throws(() => parseT2ITrainArgs(['--text-encoder', 'x', '--out', 'o', '--max-tokens', '8', '--mask-pads', 'off']), /maxTokens.*only exact with maskPads/);
});

test('t2i generate prompts: flags or a file, errors name the flag and file', () => {
  assert.deepEqual(readPrompts({ prompt: ['red heart', ''] }), ['red heart', '']);
  assert.throws(() => readPrompts({}), /--prompt .* or --prompts/);
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 't2i-cmd-'));
  dirs.push(d);
  const f = path.join(d, 'p.txt');
  fs.writeFileSync(f, 'red heart\n\n blue circle \n');
  assert.deepEqual(readPrompts({ prompts: f }), ['red heart', 'blue circle']);
  fs.writeFileSync(f, '\n');
  assert.throws(() => readPrompts({ prompts: f }), /p\.txt has no prompt/);
  assert.throws(() => readPrompts({ prompts: path.join(d, 'none.txt') }), /none\.txt does not exist/);
});

test('commands are exported for the cli; guidance settings have equal network evaluations per image', () => {
  assert.deepEqual(t2iCommands.map((c) => c.name), ['t2i text-tower train', 't2i train', 't2i generate', 't2i eval']);
  const g = guidanceAtEqualNfe(10, 3, 1.78);
  const nfe = g.map((x) => x.steps * (x.config.method!.includes('cfg') ? 2 : 1));
  assert.deepEqual(nfe, [20, 20, 20, 20]);
});

test('t2i eval --decoder: a folder without a decoder is named before any model or latent is loaded', async () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 't2i-eval-'));
  dirs.push(d);
  // the run does not exist either: the decoder check comes first
  await assert.rejects(runT2IEval({ run: path.join(d, 'no-run'), out: path.join(d, 'out'), decoder: d }), /--decoder .*t2i-eval-.*: no config\.json there/);
  assert.ok(!fs.existsSync(path.join(d, 'out')), 'nothing written');
});
