/**
 * Child process of train_resume.test.ts: a short stage-1 run (fake encoder, L1 + perceptual + GAN)
 * with trainStage1. Usage: run_child.ts <runDir> <dataDir> <steps> <checkpointEvery> <delayMs>.
 * Prints `ckpt <step>` after each checkpoint and `done <step> <interrupted>`; exits 130 when interrupted.
 */
import { initRuntime, parseStage1Config, trainStage1 } from '@raev2/core';
import { fakeParts } from './helpers.js';

const [out, data, steps, every, delay] = process.argv.slice(2);
await initRuntime({ backend: 'wasm', log: false });
const cfg = parseStage1Config({
  data: `folder:${data}`,
  out,
  steps: Number(steps),
  batchSize: 4,
  checkpointEvery: Number(every),
  logEvery: 2,
  sampleEvery: 5,
  sampleCount: 4,
  warmupEpochs: 1,
  decoder: { preset: 'tiny', overrides: { decoder_hidden_size: 32, decoder_num_hidden_layers: 1, decoder_num_attention_heads: 2, decoder_intermediate_size: 64 } },
  gan: { discStart: 1, ganStart: 2 },
});
const parts = await fakeParts(cfg);
const delayMs = Number(delay);
const r = await trainStage1(cfg, parts, {
  onLog: delayMs > 0 ? () => { const t = Date.now(); while (Date.now() - t < delayMs); } : undefined,
  onCheckpoint: ({ step }) => { process.stdout.write(`ckpt ${step}\n`); },
});
process.stdout.write(`done ${r.step} ${r.interrupted}\n`);
parts.dispose();
process.exit(r.interrupted ? 130 : 0);
