import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  tf, AdamW, Ema, Linear, Module, Rng, diffConfig, latestCheckpoint, listCheckpoints, loadCheckpoint, loadModuleWeights,
  readCheckpointState, saveCheckpoint, type Tensor,
} from '@raev2/core';
import { useBackend } from '../../helpers/fixtures.js';

/** A module with a parameter, a child and a non-parameter buffer. */
class Net extends Module {
  readonly fc: Linear;
  constructor(seed: number) {
    super();
    this.fc = this.child('fc', new Linear(3, 4, { rng: new Rng(seed) }));
    this.param('scale', new Rng(seed + 1).randn([4]));
    this.buffer('running', new Rng(seed + 2).randn([2, 2]));
  }
}

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-ckpt-'));
}

function bits(sd: Map<string, Tensor>): Record<string, number[]> {
  return Object.fromEntries([...sd].map(([k, t]) => [k, Array.from(t.dataSync())]));
}

function disposeAll(sd: Map<string, Tensor>): void {
  for (const t of sd.values()) t.dispose();
}

/** A training state after two AdamW steps. */
function makeRun(seed: number) {
  const net = new Net(seed), head = new Linear(4, 2, { rng: new Rng(seed + 5) });
  const params = [...net.namedParameters('net.'), ...head.namedParameters('head.')];
  const opt = new AdamW(params, { lr: 0.1 });
  const ema = new Ema(params);
  const rng = new Rng(seed + 9);
  const dispose = () => { net.dispose(); head.dispose(); opt.dispose(); ema.dispose(); };
  return { net, head, opt, ema, rng, dispose };
}

function train(run: ReturnType<typeof makeRun>, steps: number): void {
  for (let i = 0; i < steps; i++) {
    const grads = new Map<string, Tensor>(run.opt.paramNames.map((n) => {
      const p = [...run.net.namedParameters('net.'), ...run.head.namedParameters('head.')].find(([k]) => k === n)![1];
      return [n, run.rng.randn(p.shape)];
    }));
    run.opt.step(grads);
    run.ema.update(0.9);
    for (const g of grads.values()) g.dispose();
  }
}

const config = { model: { depth: 2, width: 4 }, lr: 0.1, totalSteps: 100 };

test('checkpoint: round trip restores modules, EMA, optimiser, RNG and state exactly', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const dir = tmpdir();
  const a = makeRun(1);
  train(a, 2);
  const p = saveCheckpoint(dir, { step: 7, epoch: 2, rng: a.rng, config, extra: { cursor: 13 }, modules: { net: a.net, head: a.head }, ema: a.ema, optimizer: a.opt });
  assert.equal(p, path.join(dir, 'ckpt-7'));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['ckpt-7', 'latest']);
  assert.deepEqual(fs.readdirSync(p).sort(), ['ema.safetensors', 'model.safetensors', 'optimizer.safetensors', 'state.json']);
  assert.equal(latestCheckpoint(dir), p);

  const b = makeRun(100); // different init everywhere
  const state = loadCheckpoint(p, { modules: { net: b.net, head: b.head }, ema: b.ema, optimizer: b.opt, rng: b.rng, config });
  assert.equal(state.step, 7);
  assert.equal(state.epoch, 2);
  assert.deepEqual(state.extra, { cursor: 13 });
  assert.deepEqual(state.config, config);
  assert.deepEqual(state.modules, ['net', 'head']);
  for (const [x, y] of [[a.net.stateDict(), b.net.stateDict()], [a.head.stateDict(), b.head.stateDict()]]) assert.deepEqual(bits(y), bits(x));
  const [ea, eb, oa, ob] = [a.ema.stateDict(), b.ema.stateDict(), a.opt.stateDict(), b.opt.stateDict()];
  assert.deepEqual(bits(eb), bits(ea), 'EMA restored');
  assert.deepEqual(bits(ob), bits(oa), 'optimiser restored');
  assert.deepEqual(b.rng.state(), a.rng.state(), 'rng restored');
  [ea, eb, oa, ob].forEach(disposeAll);
  // the restored run continues exactly like the original
  train(a, 1);
  train(b, 1);
  assert.deepEqual(bits(b.net.stateDict()), bits(a.net.stateDict()));
  a.dispose();
  b.dispose();
  assert.equal(tf.memory().numTensors, before, 'checkpoint save/load leaks tensors');
  fs.rmSync(dir, { recursive: true });
});

test('checkpoint: keeps the newest N, cleans interrupted writes, latest falls back to the highest step', async () => {
  await useBackend('cpu');
  const dir = tmpdir();
  const net = new Net(3);
  fs.mkdirSync(path.join(dir, 'ckpt-9.tmp-1-2')); // leftover of a killed writer
  for (const step of [1, 2, 3, 4, 5]) saveCheckpoint(dir, { step, modules: { net } }, { keep: 2 });
  assert.deepEqual(fs.readdirSync(dir).sort(), ['ckpt-4', 'ckpt-5', 'latest']);
  assert.deepEqual(listCheckpoints(dir).map((c) => c.step), [4, 5]);
  assert.equal(fs.readFileSync(path.join(dir, 'latest'), 'utf8').trim(), 'ckpt-5');
  // resave the same step (e.g. after a resume) replaces the folder
  saveCheckpoint(dir, { step: 5, modules: { net }, extra: { again: true } }, { keep: 2 });
  assert.deepEqual(readCheckpointState(path.join(dir, 'ckpt-5')).extra, { again: true });
  fs.writeFileSync(path.join(dir, 'latest'), 'ckpt-77\n'); // stale pointer
  assert.equal(latestCheckpoint(dir), path.join(dir, 'ckpt-5'));
  fs.rmSync(path.join(dir, 'latest'));
  assert.equal(latestCheckpoint(dir), path.join(dir, 'ckpt-5'));
  assert.equal(latestCheckpoint(path.join(dir, 'nothing-here')), null);
  net.dispose();
  fs.rmSync(dir, { recursive: true });
});

test('checkpoint: truncated or bit-flipped model.safetensors fails by name and loads nothing', async () => {
  await useBackend('cpu');
  const dir = tmpdir();
  const a = makeRun(1);
  const p = saveCheckpoint(dir, { step: 1, rng: a.rng, modules: { net: a.net, head: a.head }, ema: a.ema, optimizer: a.opt });
  const model = path.join(p, 'model.safetensors');
  const bytes = fs.readFileSync(model);
  const b = makeRun(50);
  const netBefore = bits(b.net.stateDict());
  fs.writeFileSync(model, bytes.subarray(0, bytes.length - 7));
  assert.throws(() => loadCheckpoint(p, { modules: { net: b.net, head: b.head } }), (e: Error) => e.message.includes(model) && /truncated/.test(e.message));
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 3] ^= 0x10;
  fs.writeFileSync(model, flipped);
  assert.throws(() => loadCheckpoint(p, { modules: { net: b.net } }), (e: Error) => e.message.includes(model) && /checksum[\s\S]*corrupted/.test(e.message));
  assert.deepEqual(bits(b.net.stateDict()), netBefore, 'nothing was loaded');
  fs.rmSync(path.join(p, 'optimizer.safetensors'));
  assert.throws(() => loadCheckpoint(p, { optimizer: b.opt }), /optimizer\.safetensors is missing/);
  a.dispose();
  b.dispose();
  fs.rmSync(dir, { recursive: true });
});

test('checkpoint: corrupted or invalid state.json fails naming the file and field', async () => {
  await useBackend('cpu');
  const dir = tmpdir();
  const net = new Net(1);
  const p = saveCheckpoint(dir, { step: 3, modules: { net } });
  const stateFile = path.join(p, 'state.json');
  const text = fs.readFileSync(stateFile, 'utf8');
  fs.writeFileSync(stateFile, text.slice(0, text.length / 2));
  assert.throws(() => loadCheckpoint(p, { modules: { net } }), (e: Error) => e.message.includes(stateFile) && /not valid JSON/.test(e.message));
  fs.writeFileSync(stateFile, JSON.stringify({ ...JSON.parse(text), step: -1, rng: [1, 2] }));
  assert.throws(() => readCheckpointState(p), (e: Error) => e.message.includes(stateFile) && /step:/.test(e.message) && /rng:/.test(e.message));
  fs.writeFileSync(stateFile, JSON.stringify({ ...JSON.parse(text), schemaVersion: 99 }));
  assert.throws(() => readCheckpointState(p), /schemaVersion/);
  net.dispose();
  fs.rmSync(dir, { recursive: true });
});

test('checkpoint: a config that differs in fields that matter is rejected, listing them', async () => {
  await useBackend('cpu');
  const dir = tmpdir();
  const net = new Net(1);
  const p = saveCheckpoint(dir, { step: 3, modules: { net }, config });
  const changed = { model: { depth: 3, width: 4 }, lr: 0.1, totalSteps: 200, extra: 'x' };
  assert.deepEqual(diffConfig(config, changed, ['totalSteps']).map((d) => d.path), ['model.depth', 'extra']);
  assert.throws(() => loadCheckpoint(p, { modules: { net }, config: changed }), (e: Error) =>
    e.message.includes(p) && /model\.depth: saved 2, now 3/.test(e.message) && /totalSteps: saved 100, now 200/.test(e.message) && /extra: saved \(absent\), now "x"/.test(e.message));
  loadCheckpoint(p, { modules: { net }, config: { ...config, totalSteps: 500 }, configIgnore: ['totalSteps'] });
  assert.throws(() => loadCheckpoint(p, { modules: { other: net } }), /no module\(s\) other/);
  net.dispose();
  fs.rmSync(dir, { recursive: true });
});

test('loadModuleWeights: EMA parameters with the model file’s buffers', async () => {
  await useBackend('cpu');
  const dir = tmpdir();
  const net = new Net(1);
  const ema = new Ema(net);
  const moved = net.fc.weight.add(1);
  net.fc.weight.assign(moved);
  moved.dispose();
  ema.update(0.5);
  const p = saveCheckpoint(dir, { step: 1, modules: { net }, ema });
  const target = new Net(7);
  loadModuleWeights(p, 'net', target, { ema: true });
  const sd = ema.stateDict();
  assert.deepEqual(Array.from(target.fc.weight.dataSync()), Array.from(sd.get('fc.weight')!.dataSync()));
  assert.deepEqual(bits(new Map(target.namedBuffers())), bits(new Map(net.namedBuffers())));
  const plain = new Net(8);
  loadModuleWeights(p, 'net', plain);
  assert.deepEqual(bits(plain.stateDict()), bits(net.stateDict()));
  disposeAll(sd);
  for (const x of [net, ema, target, plain]) x.dispose();
  fs.rmSync(dir, { recursive: true });
});
