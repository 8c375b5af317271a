/**
 * Child-process entry of the demo's decoder training: `node <this file> <stage1 config.json> …` runs
 * (or resumes) `raev2 stage1 train` for each validated config in turn (the main decoder, then the K
 * sweep's), so the decoders train on one core while the DiT trains on another. A finished run is
 * skipped. Exit 0: done; 130: interrupted (checkpointed); 1: failed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initRuntime, parseStage1Config, readJsonFile, STAGE1_FILES } from '@raev2/core';
import { z } from 'zod';
import '@raev2/encoders'; // the built-in encoders and their registry entries
import { runStage1Train } from '../runs/stage1.js';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: decoder_child <stage1 config.json> …');
  process.exit(2);
}
try {
  const configs = files.map((f) => parseStage1Config(readJsonFile(z.record(z.string(), z.unknown()), f), f));
  await initRuntime({ threads: 1 });
  for (const cfg of configs) {
    if (fs.existsSync(path.join(cfg.out, STAGE1_FILES.summary))) continue;
    const r = await runStage1Train(cfg, { resume: true });
    if (r.interrupted) process.exit(130);
  }
  process.exit(0);
} catch (e) {
  console.error(`decoder training failed: ${(e as Error).stack ?? (e as Error).message}`);
  process.exit(1);
}
