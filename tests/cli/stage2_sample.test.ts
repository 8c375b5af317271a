/**
 * `raev2 stage2 train` and `raev2 sample` end to end on a fake encoder registered by name: a 2-step
 * stage-1 run provides the decoder and statistics; stage 2 trains a few steps on cached latents,
 * resumes, and its checkpoint is sampled with every guidance method; bad configs fail before any work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import {
  tf, registerEncoder, parseStage1Config, readMetrics, readCheckpointState, latestCheckpoint, SafetensorsFile, METRICS_FILE,
  readStage2Checkpoint, loadStage2Model, labelCondition, disposeCondition, classMajorLabels, generateLatents, type Tensor,
} from '@raev2/core';
import { runStage1Train, parseStage2TrainArgs, runStage2Train, resolveStage2, runSample, sampleCommand, SampleFlagsSchema } from '@raev2/cli';
import { useBackend } from '../helpers/fixtures.js';
import { fakeEncoder } from '../core/rae/fake_encoder.js';
import { writeClassImages } from '../core/stage2/helpers.js';

registerEncoder('test-fake-vit', async () => fakeEncoder({ layers: 3, dim: 8, patch: 4, size: [16, 16], seed: 3 }), 'fake 16-px ViT for tests');

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-s2cli-'));
const root = tmp();
const data = path.join(root, 'data'), s1 = path.join(root, 's1'), s2 = path.join(root, 's2');

const trainArgs = (steps: number, extra: string[] = []) => [
  '--stage1', s1, '--data', `folder:${data}`, '--out', s2, '--held-out', '6', '--steps', String(steps), '--batch', '4', '--checkpoint-every', '2', '--log-every', '2',
  '--hidden-size', '16,16', '--depth', '2,1', '--heads', '2,2', '--base-depth', '1', '--t-eps', '0.4', '--condition-dropout', '0.2',
  '--sample-every', '2', '--sample-per-class', '2', '--sample-steps', '3', '--sample-guidance', 'free',
  '--metric-every', '2', '--metric-steps', '3', '--metric-count', '6', '--metric-spaces', 'latent,test-fake-vit[layers=2]', ...extra,
];

const sampleFlags = (o: Record<string, string>) => SampleFlagsSchema.parse({ ckpt: s2, steps: '3', 'per-class': '2', ...o });

test('stage2 train → resume → sample (every guidance and combination) from the CLI functions', async () => {
  await useBackend('wasm');
  await writeClassImages(data, 8);
  const t0 = Date.now();
  const r1 = await runStage1Train(parseStage1Config({
    encoder: 'test-fake-vit[layers=1.2]', data: `folder:${data}`, out: s1, steps: 2, batchSize: 4, heldOut: 6,
    decoder: { preset: 'tiny', overrides: { decoder_hidden_size: 16, decoder_num_hidden_layers: 1, decoder_num_attention_heads: 2, decoder_intermediate_size: 32 } },
    perceptual: { weight: 0 }, gan: { enabled: false }, sampleEvery: 0,
  }), { handleSignals: false });
  assert.equal(r1.interrupted, false);
  const before = tf.memory().numTensors;

  const a = parseStage2TrainArgs(trainArgs(4));
  assert.equal(a.resume, true);
  const r = await runStage2Train(a.config, { resume: a.resume, handleSignals: false });
  assert.equal(r.step, 4);
  assert.deepEqual(r.resolved.classes, ['blue', 'green', 'red']);
  assert.equal(r.resolved.encoder, 'test-fake-vit[layers=1.2]');
  assert.equal(r.samples.length, 2);
  const grid = await sharp(r.samples[1]).metadata();
  assert.equal(grid.height, 3 * 16 + 2 * 2, 'one row per class');
  // resume to 6 steps: continues from the step-4 checkpoint
  const b = parseStage2TrainArgs(trainArgs(6));
  const rb = await runStage2Train(b.config, { resume: b.resume, handleSignals: false });
  assert.equal(rb.step, 6);
  const metrics = readMetrics(path.join(s2, METRICS_FILE));
  assert.deepEqual(metrics.map((m) => m.step), [2, 4, 6]);
  for (const m of metrics) {
    for (const v of [...Object.values(m.fd), ...Object.values(m.fdHeldOut!), m.fdr!, m.probeAccuracy!]) assert.ok(Number.isFinite(v), JSON.stringify(m));
    assert.deepEqual(Object.keys(m.fd), ['latent', 'test-fake-vit[layers=2]']);
    assert.equal(m.guidance, 'none');
  }
  const log = fs.readFileSync(path.join(s2, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(log.map((l) => l.step), [2, 4, 6]);
  for (const l of log) for (const k of ['loss', 'full', 'base', 'gradNorm']) assert.ok(Number.isFinite(l[k]), `${k} logged`);
  assert.equal(readCheckpointState(latestCheckpoint(s2)!).step, 6);

  // sample: NFE per image = steps (none, free), 2·steps (cfg, free+cfg, autoguidance, free+autoguidance), 4·steps (autoguidance+cfg)
  const nfe: Record<string, number> = {};
  const weak = path.join(s2, 'ckpt-2');
  for (const [guidance, extra] of [['none', {}], ['cfg', { scale: '2' }], ['free', { scale: '1.78' }], ['free+cfg', { scale: '1.5', 'cfg-scale': '1.5' }], ['autoguidance', { scale: '1.5', weak }],
    ['autoguidance+cfg', { 'auto-scale': '1.5', 'cfg-scale': '2', weak }], ['free+autoguidance', { 'free-scale': '1.5', 'auto-scale': '1.2', weak }]] as const) {
    const out = path.join(root, `samples-${guidance}`);
    const res = await runSample(sampleFlags({ guidance, out, ...extra }), () => {});
    nfe[guidance] = res.nfePerImage;
    assert.equal(res.files.length, 6);
    for (const f of res.files) assert.deepEqual([(await sharp(f).metadata()).width, (await sharp(f).metadata()).height], [16, 16]);
    assert.ok(fs.existsSync(path.join(out, 'grid.png')));
    assert.ok(fs.existsSync(path.join(out, 'red', '001.png')));
    const lat = SafetensorsFile.open(path.join(out, 'latents.safetensors'));
    assert.deepEqual(lat.info('latents').shape, [6, 16, 8]);
    lat.close();
  }
  // the run's transport.tEps (0.4) reaches sampling: `sample` equals generateLatents with tEps 0.4, not the 0.05 default
  {
    const { ckpt, run } = readStage2Checkpoint(s2);
    assert.equal(run.config.transport.tEps, 0.4);
    assert.equal(run.config.conditionDropout, 0.2);
    const model = loadStage2Model(ckpt, run.resolved.dit);
    const cond = labelCondition(classMajorLabels([0, 1, 2], 2));
    const lat = SafetensorsFile.open(path.join(root, 'samples-none', 'latents.safetensors'));
    const written = lat.read('latents');
    lat.close();
    const gen = (tEps?: number) => generateLatents(model, cond, { steps: 3, shift: run.resolved.shift, seed: 0, batchSize: 32, tEps }).latents;
    const [at04, atDefault] = [gen(0.4), gen()];
    const diff = (a: Tensor, b: Tensor) => tf.tidy(() => a.sub(b).abs().max().dataSync()[0]);
    assert.equal(diff(written, at04), 0, 'sampled with the run\'s tEps');
    assert.ok(diff(written, atDefault) > 1e-4, 'the default clamp gives other samples');
    tf.dispose([written, at04, atDefault]);
    disposeCondition(cond);
    model.dispose();
  }
  assert.deepEqual(nfe, { none: 3, cfg: 6, free: 3, 'free+cfg': 6, autoguidance: 6, 'autoguidance+cfg': 12, 'free+autoguidance': 6 });
  // the same seed gives the same samples; --classes by name and index
  const one = await runSample(sampleFlags({ out: path.join(root, 'one'), classes: 'red,0', 'per-class': '1' }), () => {});
  assert.deepEqual(one.files.map((f) => path.basename(path.dirname(f))), ['red', 'blue']);
  const red1 = fs.readFileSync(one.files[0]);
  const again = await runSample(sampleFlags({ out: path.join(root, 'again'), classes: 'red', 'per-class': '1' }), () => {});
  assert.deepEqual(fs.readFileSync(again.files[0]), red1, 'seeded sampling is reproducible');
  // the command itself (flag parsing + printing)
  const logs: string[] = [];
  const orig = console.log;
  console.log = (s: string) => logs.push(s);
  try {
    await sampleCommand.run(['--ckpt', s2, '--out', path.join(root, 'cmd'), '--guidance', 'free', '--steps', '2', '--per-class', '1', '--sampler', 'heun']);
  } finally {
    console.log = orig;
  }
  assert.deepEqual(logs, ['NFE per image: 3 (1.5 per step)'], 'Heun: 2 evaluations per step except the last');
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
  console.log(`  stage 1 (2 steps) + stage 2 (6 steps, resumed) + 8 sample runs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test('bad stage-2 configs and sample flags fail with clear messages before any work', async () => {
  await useBackend('wasm');
  const out = path.join(root, 'never');
  const base = ['--stage1', s1, '--data', `folder:${data}`, '--out', out];
  assert.throws(() => parseStage2TrainArgs([...base, '--base-depth', '5']), /model\.baseDepth: base head depth 5 is beyond the body depth 4/);
  assert.throws(() => parseStage2TrainArgs([...base, '--sample-guidance', 'magic']), /samples\.guidance\.method/);
  assert.throws(() => parseStage2TrainArgs([...base, '--lr', 'fast']), /optimizer\.lr/);
  assert.throws(() => parseStage2TrainArgs([...base, '--bogus', '1']), /bogus/);
  // needs the latent (8 channels): a 4-wide body is rejected after probing the encoder, before any latent or file is written
  const narrow = parseStage2TrainArgs([...base, '--hidden-size', '4,8', '--heads', '1,2']);
  await assert.rejects(runStage2Train(narrow.config, { handleSignals: false }), /body width 4 is smaller than the latent width per token 8/);
  await assert.rejects(resolveStage2(parseStage2TrainArgs([...base, '--metric-spaces', 'latent,nope-encoder']).config), /unknown encoder "nope-encoder"/);
  await assert.rejects(resolveStage2(parseStage2TrainArgs([...base, '--classes', 'red,purple']).config), /"purple" are not in/);
  assert.ok(!fs.existsSync(out), 'nothing was written');
  // unknown guidance / a model without a base head / a missing weak model
  await assert.rejects(sampleCommand.run(['--ckpt', s2, '--guidance', 'magic']), /--guidance: must be one of none, cfg, autoguidance, free, free\+cfg, autoguidance\+cfg, free\+autoguidance/);
  assert.throws(() => SampleFlagsSchema.parse({ ckpt: s2, guidance: 'autoguidance' }), /weak/);
  assert.throws(() => SampleFlagsSchema.parse({ ckpt: s2, guidance: 'free+autoguidance', 'cfg-scale': '2', weak: s2 }), /has no cfg part/);
  await assert.rejects(runSample(sampleFlags({ classes: 'purple' }), () => {}), /"purple" is not a class of this model \(classes: 0=blue, 1=green, 2=red\)/);
  await assert.rejects(runSample(sampleFlags({ ckpt: data }), () => {}), /holds no checkpoint/);
});
