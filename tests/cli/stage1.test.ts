import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf, loadStats, readCheckpointState, latestCheckpoint } from '@raev2/core';
import { stage1EvalCommand, stage1StatsCommand, stage1TrainCommand, parseTrainArgs } from '@raev2/cli';
import { withResolution } from '@raev2/encoders';
import { useBackend } from '../helpers/fixtures.js';
import { writeSyntheticImages } from '../core/stage1/helpers.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-s1cli-'));
const data = path.join(root, 'data');

test('stage1 train: errors are reported before any output is written', async () => {
  await useBackend('wasm');
  await writeSyntheticImages(data, 16, 32, 5);
  const out = path.join(root, 'never');
  const expectFail = async (argv: string[], re: RegExp) => {
    await assert.rejects(stage1TrainCommand.run(argv), (e: Error) => re.test(e.message), `${argv.join(' ')} should fail with ${re}`);
    assert.ok(!fs.existsSync(out), `${argv.join(' ')} created ${out}`);
  };
  fs.mkdirSync(path.join(root, 'empty'));
  await expectFail(['--data', `folder:${path.join(root, 'empty')}`, '--out', out], /contains no images/);
  const corrupt = path.join(root, 'corrupt');
  fs.cpSync(data, corrupt, { recursive: true });
  fs.writeFileSync(path.join(corrupt, 'img007.png'), 'not an image');
  await expectFail(['--data', `folder:${corrupt}`, '--out', out, '--image-size', '32', '--gan', 'off', '--perceptual', 'none'], /img007\.png/);
  const bad = path.join(root, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify({ data: `folder:${data}`, out, batchSize: 'eight', gan: { dLoss: 'wgan' } }));
  await expectFail(['--config', bad], /bad\.json[\s\S]*batchSize[\s\S]*gan\.dLoss/);
  await expectFail(['--data', `folder:${data}`, '--out', out, '--resume', path.join(root, 'missing-ckpt')], /missing-ckpt: no such checkpoint/);
  fs.mkdirSync(path.join(root, 'not-a-ckpt'));
  await expectFail(['--data', `folder:${data}`, '--out', out, '--resume', path.join(root, 'not-a-ckpt')], /not-a-ckpt[\s\S]*state\.json/);
  await expectFail(['--data', `folder:${data}`, '--out', out, '--bogus', '1'], /Unknown option '--bogus'/);
  await expectFail(['--data', `folder:${data}`, '--out', out, '--batch', '0', '--noise-tau', 'lots'], /batchSize \(--batch\)[\s\S]*noiseTau \(--noise-tau\)/);
  await expectFail(['--data', `folder:${data}`, '--out', out, '--encoder', 'mobilenetv2-nsfwjs[layers=last9]', '--image-size', '32'], /last9/);
});

test('a 300-step stage-1 run with the default EMA flags: its evaluated (EMA) decoder is within 1 dB of its raw weights; eval names the weights', async () => {
  await useBackend('wasm');
  const run = path.join(root, 'ema-run');
  // default EMA settings (0.9978 with the warm-up); a small run otherwise (no perceptual / GAN networks) so the test stays short
  const argv = ['--data', `folder:${data}`, '--out', run, '--image-size', '32', '--held-out', '4', '--steps', '300', '--perceptual', 'none', '--gan', 'off', '--log-every', '100', '--sample-every', '0', '--checkpoint-every', '300'];
  const { config } = parseTrainArgs(argv);
  assert.equal(config.ema, 0.9978);
  assert.equal(config.emaWarmup, true);
  await stage1TrainCommand.run(argv);
  const scores: Record<string, { weights: string; psnr: number }> = {};
  for (const weights of ['ema', 'raw']) {
    const json = path.join(root, `eval-${weights}.json`);
    await stage1EvalCommand.run(['--run', run, '--json', json, '--features', 'none', ...(weights === 'raw' ? ['--weights', 'raw'] : [])]);
    scores[weights] = JSON.parse(fs.readFileSync(json, 'utf8'));
    assert.equal(scores[weights].weights, weights, 'the eval record says which weights it scored');
  }
  const [e, r] = [scores.ema.psnr, scores.raw.psnr];
  assert.ok(r > 10, `the raw decoder learned something (${r.toFixed(2)} dB)`);
  assert.ok(Math.abs(e - r) < 1, `EMA ${e.toFixed(2)} dB vs raw ${r.toFixed(2)} dB`);
  await assert.rejects(stage1EvalCommand.run(['--run', run, '--weights', 'last']), /weights/);
});

test('stage1 train → eval → stats end to end with the offline MobileNetV2 (perceptual + GAN on, 32 px)', async () => {
  await useBackend('wasm');
  const before = tf.memory().numTensors;
  const run = path.join(root, 'run');
  const argv = ['--data', `folder:${data}`, '--out', run, '--image-size', '32', '--held-out', '4', '--steps', '3', '--batch', '4', '--disc-start', '0', '--gan-start', '0', '--sample-every', '2', '--checkpoint-every', '2'];
  const { config } = parseTrainArgs(argv);
  assert.equal(config.encoder, 'mobilenetv2-nsfwjs[layers=last3]');
  assert.equal(withResolution(config.encoder, 32), 'mobilenetv2-nsfwjs[layers=last3,res=32]');
  await stage1TrainCommand.run(argv);
  const state = readCheckpointState(latestCheckpoint(run)!);
  assert.equal(state.step, 3);
  assert.deepEqual(state.modules, ['decoder', 'disc']);
  const log = fs.readFileSync(path.join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const last = log[log.length - 1];
  for (const k of ['l1', 'perceptual', 'gan', 'lambda', 'discLoss']) assert.ok(Number.isFinite(last[k]), `log has a finite ${k}: ${JSON.stringify(last)}`);
  assert.ok(fs.existsSync(path.join(run, 'samples', 'step-0000002.png')));
  const summary = JSON.parse(fs.readFileSync(path.join(run, 'stage1.json'), 'utf8'));
  assert.deepEqual(summary.grid, [2, 2]);
  assert.equal(summary.channels, 96);
  assert.equal(summary.trainImages, 12);

  const json = path.join(root, 'eval.json');
  await stage1EvalCommand.run(['--run', run, '--json', json, '--batch', '2']);
  const ev = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.equal(ev.images, 4);
  assert.ok(Number.isFinite(ev.psnr) && Number.isFinite(ev.ssim) && Number.isFinite(ev.rfd), JSON.stringify(ev));

  const statsFile = path.join(root, 'stats.safetensors');
  await stage1StatsCommand.run(['--data', `folder:${data}`, '--image-size', '32', '--out', statsFile, '--batch', '5']);
  const s = loadStats(statsFile, [4, 96]);
  assert.ok(Array.from(s.var.dataSync()).every((v) => v >= 0));
  tf.dispose([s.var, s.mean!]);
  assert.equal(tf.memory().numTensors, before, 'the commands leak tensors');
  fs.rmSync(root, { recursive: true });
});
