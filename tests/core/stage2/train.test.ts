import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  tf, parseStage2Config, trainStage2, readCheckpointState, latestCheckpoint, readMetrics, readStage2Checkpoint, loadStage2Model,
  generateLatents, labelCondition, disposeCondition, METRICS_FILE, type MetricsRecord, type Stage2ConfigInput,
} from '@raev2/core';
import { useBackend } from '../../helpers/fixtures.js';
import { fakeStage2, writeClassImages } from './helpers.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-stage2-'));
let data = '';

function config(out: string, steps: number, extra: Partial<Stage2ConfigInput> = {}) {
  return parseStage2Config({
    encoder: 'fake-vit[layers=1.2]',
    stats: 'in-memory',
    data: `folder:${data}`,
    heldOut: 6,
    out,
    steps,
    batchSize: 4,
    checkpointEvery: 3,
    logEvery: 3,
    model: { hiddenSize: [16, 16], depth: [2, 1], numHeads: [2, 2], baseDepth: 1 },
    samples: { every: 3, perClass: 2, steps: 3 },
    metrics: { every: 3, steps: 3, count: 9, spaces: ['latent', 'fake'], probePool: 'mean' },
    ...extra,
  }, 'test config');
}

const strip = (r: MetricsRecord) => {
  const { time: _t, seconds: _s, ...rest } = r;
  return rest;
};

test('stage 2: a short run caches latents, writes checkpoints, sample grids and finite metrics; a resumed run is bit-identical to a straight one', async () => {
  await useBackend('wasm');
  data = tmp();
  await writeClassImages(data, 8);
  const before = tf.memory().numTensors;

  // A: 9 steps straight
  const a = tmp();
  const fa = await fakeStage2(config(a, 9));
  const t0 = Date.now();
  const ra = await trainStage2(config(a, 9), fa.parts, fa.grid, fa.channels, { handleSignals: false });
  const secs = (Date.now() - t0) / 1000;
  assert.equal(ra.step, 9);
  assert.equal(ra.interrupted, false);
  assert.equal(ra.samples.length, 3);
  for (const f of ra.samples) assert.ok(fs.statSync(f).size > 100, `${f} written`);
  const ma = readMetrics(path.join(a, METRICS_FILE));
  assert.deepEqual(ma.map((m) => m.step), [3, 6, 9]);
  for (const m of ma) {
    for (const k of ['latent', 'fake']) {
      assert.ok(Number.isFinite(m.fd[k]) && m.fd[k] >= 0, `FD ${k} ${m.fd[k]}`);
      assert.ok(Number.isFinite(m.fdHeldOut![k]) && m.fdHeldOut![k] > 0, `held-out FD ${k}`);
    }
    assert.ok(Number.isFinite(m.fdr!));
    assert.ok(m.probeAccuracy! >= 0 && m.probeAccuracy! <= 1);
    assert.equal(m.nfePerImage, 3, 'Euler, no guidance: one evaluation per step');
  }
  assert.ok(ma[0].probeHeldOutAccuracy! > 0.8, `the probe separates the three colour classes on real held-out latents (${ma[0].probeHeldOutAccuracy})`);
  assert.ok(fs.existsSync(path.join(a, 'latents', 'train.latents.safetensors')));
  assert.ok(fs.existsSync(path.join(a, 'latents', 'heldout.fake.features.safetensors')));
  console.log(`  9 steps + 3 sample grids + 3 evaluations in ${secs.toFixed(1)} s; last: ${JSON.stringify(strip(ma[2]))}`);

  // B: 6 steps, then resumed to 9 (the caches are reused, not rebuilt)
  const b = tmp();
  const fb = await fakeStage2(config(b, 6));
  const r1 = await trainStage2(config(b, 6), fb.parts, fb.grid, fb.channels, { handleSignals: false });
  assert.equal(r1.step, 6);
  const cacheFile = path.join(b, 'latents', 'train.latents.safetensors');
  const mtime = fs.statSync(cacheFile).mtimeMs;
  // a run checkpointed before conditions were generic stores labelDropout and condition {type: 'label'}: it still resumes
  const stateFile = path.join(latestCheckpoint(b)!, 'state.json');
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  const { conditionDropout, ...oldConfig } = state.config.config;
  state.config.config = { ...oldConfig, labelDropout: conditionDropout };
  state.config.resolved.dit.condition = { type: 'label' };
  fs.writeFileSync(stateFile, JSON.stringify(state));
  const r2 = await trainStage2(config(b, 9), fb.parts, fb.grid, fb.channels, { handleSignals: false });
  assert.equal(r2.step, 9);
  assert.equal(fs.statSync(cacheFile).mtimeMs, mtime, 'the latent cache was reused');
  const sa = readCheckpointState(latestCheckpoint(a)!), sb = readCheckpointState(latestCheckpoint(b)!);
  assert.deepEqual(sb.files, sa.files, 'model, EMA and optimiser files identical to the straight run');
  assert.deepEqual(sb.rng, sa.rng);
  assert.deepEqual(readMetrics(path.join(b, METRICS_FILE)).map(strip), ma.map(strip), 'metrics identical to the straight run');

  // the checkpoint is self-describing: rebuild the EMA model and sample from it
  const { ckpt, run } = readStage2Checkpoint(b);
  assert.deepEqual(run.resolved.classes, ['blue', 'green', 'red']);
  const model = loadStage2Model(ckpt, run.resolved.dit);
  const labels = labelCondition([0, 1, 2]);
  const g = generateLatents(model, labels, { steps: 4, shift: run.resolved.shift, seed: 0, guidance: { method: 'free', freeScale: 1.5 } });
  assert.deepEqual(g.latents.shape, [3, 16, 8]);
  assert.equal(g.nfePerImage, 4, 'free guidance: no extra network evaluation');
  const cfg = generateLatents(model, labels, { steps: 4, shift: run.resolved.shift, seed: 0, guidance: { method: 'cfg', cfgScale: 1.5 } });
  assert.equal(cfg.nfePerImage, 8, 'CFG: two rows per image per step');
  assert.ok(tf.tidy(() => tf.isFinite(g.latents).all().dataSync()[0] === 1));
  tf.dispose([g.latents, cfg.latents]);
  disposeCondition(labels);
  model.dispose();

  // changed latent statistics: resuming is refused (before any caching), and the old cache is stale
  const fc = await fakeStage2(config(b, 12), { statsScale: 2 });
  await assert.rejects(trainStage2(config(b, 12), fc.parts, fc.grid, fc.channels, { handleSignals: false }), /resolved\.stats/);
  await assert.rejects(trainStage2(config(tmp(), 12, { cacheDir: path.join(b, 'latents') }), fc.parts, fc.grid, fc.channels, { handleSignals: false }), /latent cache .* is stale[\s\S]*stats: cached/);
  for (const f of [fa, fb, fc]) f.dispose();
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
});

test('stage 2 variants: online latents + Muon + REPA; adaLN + v-prediction + uniform t; no metrics', async () => {
  await useBackend('wasm');
  const before = tf.memory().numTensors;
  const variants: [string, Partial<Stage2ConfigInput>, string[]][] = [
    ['online-muon-repa', { latents: 'online', optimizer: { name: 'muon', lr: 1e-3 }, model: { hiddenSize: [16, 16], depth: [2, 1], numHeads: [2, 2], baseDepth: 1, repa: { depth: 1, hidden: 8 } } }, ['loss', 'full', 'base', 'repa']],
    ['adaln-v', { model: { conditioning: 'adaln', prediction: 'v', baseDepth: 'none', hiddenSize: [16, 16], depth: [2, 1], numHeads: [2, 2] }, transport: { timeDist: 'uniform' }, samples: { every: 0, guidance: { method: 'cfg', cfgScale: 2 } } }, ['loss', 'full']],
    ['no-metrics', { metrics: { every: null } }, ['loss', 'full', 'base']],
  ];
  for (const [name, extra, keys] of variants) {
    const out = tmp();
    const cfg = config(out, 3, extra);
    const f = await fakeStage2(cfg);
    const r = await trainStage2(cfg, f.parts, f.grid, f.channels, { handleSignals: false });
    assert.equal(r.step, 3, name);
    const log = fs.readFileSync(path.join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const k of keys) assert.ok(Number.isFinite(log[log.length - 1][k]), `${name}: ${k} logged`);
    if (name === 'online-muon-repa') {
      assert.ok(!fs.existsSync(path.join(out, 'latents')), 'online: no cache written');
      assert.equal(readMetrics(path.join(out, METRICS_FILE)).length, 1);
      const st = readCheckpointState(latestCheckpoint(out)!);
      assert.ok('optimizer.safetensors' in st.files);
    }
    if (name === 'adaln-v') {
      const { run } = readStage2Checkpoint(out);
      assert.equal(run.resolved.dit.arch, 'rae');
      assert.equal(r.samples.length, 1, 'the end-of-run grid (CFG)');
    }
    if (name === 'no-metrics') assert.equal(readMetrics(path.join(out, METRICS_FILE)).length, 0);
    f.dispose();
  }
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
});
