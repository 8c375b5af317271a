import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf, createRAE, evaluateReconstruction, loadDecoder, parseStage1Config, trainStage1 } from '@raev2/core';
import { useBackend } from '../../helpers/fixtures.js';
import { fakeParts, writeSyntheticImages } from './helpers.js';

test('stage1 train: a tiny decoder overfits 8 images to PSNR > 30 dB (L1 only, no noise); the exported EMA decoder reloads', async () => {
  await useBackend('wasm');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-overfit-'));
  await writeSyntheticImages(path.join(root, 'data'), 8, 16, 2);
  const cfg = parseStage1Config({
    data: `folder:${path.join(root, 'data')}`,
    out: path.join(root, 'run'),
    steps: 500,
    batchSize: 8,
    lr: 1e-2,
    finalLr: 1e-4,
    warmupEpochs: 10,
    noiseTau: 0,
    ema: 0.9,
    gradClip: null,
    perceptual: { weight: 0 },
    gan: { enabled: false },
    sampleEvery: 0,
    checkpointEvery: 1000,
    logEvery: 100,
    decoder: { preset: 'tiny', overrides: { decoder_hidden_size: 64, decoder_num_hidden_layers: 2, decoder_num_attention_heads: 4, decoder_intermediate_size: 256 } },
  });
  const parts = await fakeParts(cfg);
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  const r = await trainStage1(cfg, parts, { handleSignals: false });
  const secs = (performance.now() - t0) / 1000;
  assert.equal(r.step, 500);
  assert.equal(tf.memory().numTensors, before, 'trainStage1 leaks tensors');
  const rae = createRAE({ encoder: parts.encoder, selection: parts.selection, decoder: loadDecoder(r.decoderDir!) });
  const s = evaluateReconstruction(rae, parts.images);
  console.log(`  overfit: PSNR ${s.psnr.toFixed(2)} dB, SSIM ${s.ssim.toFixed(4)} after 500 steps (${secs.toFixed(1)} s)`);
  assert.ok(s.psnr > 30, `PSNR ${s.psnr} dB ≤ 30`);
  rae.dispose();
  parts.dispose();
  fs.rmSync(root, { recursive: true });
});
