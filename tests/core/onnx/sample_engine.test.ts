/**
 * `raev2 sample --engine ort|tfjs` on a tiny trained run (fake encoder, 2-step stage 1 and stage 2):
 * the onnxruntime DiT and decoder give the tfjs samples within 1e-4 (latents and decoded PNG
 * pixels), the exported graphs are cached beside the checkpoints (stage-2 run for the DiT, stage-1
 * run for the decoder) and reused by the next run, and the log names the engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { registerEncoder, parseStage1Config, SafetensorsFile } from '@raev2/core';
import { runStage1Train, parseStage2TrainArgs, runStage2Train, runSample, SampleFlagsSchema } from '@raev2/cli';
import { useBackend, maxAbsDiff } from '../../helpers/fixtures.js';
import { fakeEncoder } from '../rae/fake_encoder.js';
import { writeClassImages } from '../stage2/helpers.js';

registerEncoder('test-fake-vit-engine', async () => fakeEncoder({ layers: 3, dim: 8, patch: 4, size: [16, 16], seed: 3 }), 'fake 16-px ViT for the engine test');

test('sample --engine ort equals --engine tfjs within 1e-4; graphs cached beside the checkpoints', async (t) => {
  await useBackend('wasm');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-engine-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const data = path.join(root, 'data'), s1 = path.join(root, 's1'), s2 = path.join(root, 's2');
  await writeClassImages(data, 6);
  await runStage1Train(parseStage1Config({
    encoder: 'test-fake-vit-engine[layers=1.2]', data: `folder:${data}`, out: s1, steps: 2, batchSize: 4, heldOut: 3,
    decoder: { preset: 'tiny', overrides: { decoder_hidden_size: 16, decoder_num_hidden_layers: 1, decoder_num_attention_heads: 2, decoder_intermediate_size: 32 } },
    perceptual: { weight: 0 }, gan: { enabled: false }, sampleEvery: 0,
  }), { handleSignals: false });
  const a = parseStage2TrainArgs(['--stage1', s1, '--data', `folder:${data}`, '--out', s2, '--held-out', '3', '--steps', '2', '--batch', '4', '--checkpoint-every', '2', '--log-every', '2',
    '--hidden-size', '16,16', '--depth', '2,1', '--heads', '2,2', '--base-depth', '1', '--sample-every', '0', '--metric-every', '0']);
  await runStage2Train(a.config, { resume: a.resume, handleSignals: false });

  const logs: string[] = [];
  const run = (engine: string, out: string) => runSample(SampleFlagsSchema.parse({ ckpt: s2, steps: '3', 'per-class': '2', guidance: 'free', out: path.join(root, out), engine }), (s) => logs.push(s));
  const tfjs = await run('tfjs', 'tfjs');
  const ort = await run('ort', 'ort');
  assert.match(logs[0], /DiT on tfjs, decoder on tfjs/);
  assert.match(logs[1], /DiT on ort \(cpu\), decoder on ort \(cpu\)/);
  const latents = (dir: string) => { const f = SafetensorsFile.open(path.join(dir, 'latents.safetensors')); const x = f.read('latents'); f.close(); return x; };
  const [lt, lo] = [latents(tfjs.out), latents(ort.out)];
  const d = maxAbsDiff(lt, lo);
  t.diagnostic(`latents: max abs diff ${d.toExponential(2)}`);
  assert.ok(d <= 1e-4, `latents differ by ${d}`);
  lt.dispose();
  lo.dispose();
  assert.equal(tfjs.files.length, ort.files.length);
  for (let i = 0; i < tfjs.files.length; i++) {
    const [pa, pb] = await Promise.all([tfjs.files[i], ort.files[i]].map((f) => sharp(f).raw().toBuffer()));
    assert.ok(maxAbsDiff(pa, pb) <= 1, `${path.basename(ort.files[i])}: decoded pixels differ by more than one 8-bit level`);
  }
  const cached = (dir: string, kind: string) => fs.readdirSync(path.join(dir, 'onnx')).filter((f) => f.startsWith(kind) && f.endsWith('.onnx'));
  assert.equal(cached(s2, 'dit-raev2-').length, 1, 'the DiT graph is cached in the stage-2 run');
  assert.equal(cached(s1, 'decoder-').length, 1, 'the decoder graph is cached in the stage-1 run');
  const ditFile = path.join(s2, 'onnx', cached(s2, 'dit-raev2-')[0]);
  const mtime = fs.statSync(ditFile).mtimeMs;
  await run('ort', 'ort2');
  assert.equal(fs.statSync(ditFile).mtimeMs, mtime, 'the cached graph was exported again');
  assert.equal(cached(s2, 'dit-raev2-').length, 1);
  assert.throws(() => SampleFlagsSchema.parse({ ckpt: s2, engine: 'torch' }), /engine/);
});
