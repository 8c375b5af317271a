/**
 * `raev2 demo` (= `npm run demo`): class-conditional emoji generation end to end, offline — decoder,
 * latent statistics, DiT^DH, free-guidance sampling, metrics and an HTML report (see demo/pipeline.ts).
 */
import { type Command } from '@raev2/core';
import { DEMO_USAGE, parseDemoArgs } from '../demo/flags.js';
import { runDemo } from '../demo/pipeline.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'train + sample class-conditional emoji end to end, offline (outputs/demo: samples, metrics, report.html)',
  usage: DEMO_USAGE,
  async run(argv) {
    const flags = parseDemoArgs(argv);
    const r = await runDemo(flags);
    if (r.interrupted) process.exitCode = 130;
  },
};
