/**
 * Child-process entry of the demo's decoder training: `node <this file> <stage1 config.json>` runs
 * (or resumes) `raev2 stage1 train` with that validated config, so the decoder can train on one core
 * while the DiT trains on another. Exit 0: done; 130: interrupted (checkpointed); 1: failed.
 */
import { initRuntime, parseStage1Config, readJsonFile } from '@raev2/core';
import { z } from 'zod';
import '../builtin.js';
import { runStage1Train } from '../cli/stage1.js';

const file = process.argv[2];
if (!file) {
  console.error('usage: decoder_child <stage1 config.json>');
  process.exit(2);
}
try {
  const cfg = parseStage1Config(readJsonFile(z.record(z.string(), z.unknown()), file), file);
  await initRuntime({ threads: 1 });
  const r = await runStage1Train(cfg, { resume: true });
  process.exit(r.interrupted ? 130 : 0);
} catch (e) {
  console.error(`decoder training failed: ${(e as Error).stack ?? (e as Error).message}`);
  process.exit(1);
}
