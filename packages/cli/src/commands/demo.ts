/**
 * `raev2 demo` (= `npm run demo`): class-conditional emoji generation end to end, offline — decoder,
 * latent statistics, DiT^DH, free-guidance sampling, metrics and an HTML report (see demo/pipeline.ts).
 * `raev2 demo-export`: turn a finished `--train` run into the checkpoint the demo ships.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { checkOutput, parseFlags, type Command } from '@raev2/core';
import { DEMO_USAGE, parseDemoArgs } from '../demo/flags.js';
import { runDemo } from '../demo/pipeline.js';
import { readPlanFile } from '../demo/state.js';
import { PRETRAINED_DIR, exportPretrained } from '../demo/pretrained.js';
import { T2I_DEMO_USAGE, parseT2IDemoArgs, runT2IDemo, t2iDemoTrainingCommand } from '../demo/t2i/run.js';
import { T2I_PRETRAINED_DIR, exportT2IPretrained } from '../demo/t2i/pretrained.js';
import { NAVWORLD_DEMO_USAGE, runNavworldDemo } from '../demo/navworld/run.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'class-conditional emoji end to end, offline: shipped or freshly trained decoder + DiT^DH (outputs/demo: samples, metrics, report.html)',
  usage: `${DEMO_USAGE}\n\n  --task class|t2i|navworld   class-conditional emoji (default), text to image, or navigation world model:\n${T2I_DEMO_USAGE}\n\n${NAVWORLD_DEMO_USAGE}`,
  async run(argv) {
    // --task t2i: the text-to-image demo (demo/t2i); --task class (the default) is the class-conditional one
    const t = argv.indexOf('--task');
    if (t >= 0 && argv[t + 1] === 't2i') {
      await runT2IDemo(parseT2IDemoArgs(argv));
      return;
    }
    if (t >= 0 && argv[t + 1] === 'navworld') {
      await runNavworldDemo(argv);
      return;
    }
    if (t >= 0 && argv[t + 1] === 'class') argv = [...argv.slice(0, t), ...argv.slice(t + 2)];
    const flags = parseDemoArgs(argv);
    checkOutput(flags.out, { kind: 'dir', what: '--out' }); // a file, /proc or a read-only disk fails before any work
    const r = await runDemo(flags);
    if (r.interrupted) process.exitCode = 130;
  },
};

const ExportFlags = z
  .object({
    run: z.string({ error: 'is required' }).min(1),
    to: z.string().min(1).optional(),
    task: z.enum(['class', 't2i']).default('class'),
  })
  .strict();

const EXPORT_USAGE = `usage: raev2 demo-export [--task class|t2i] --run <demo out> [--to <dir>]

Export a finished demo training run (npm run demo -- --train … --out <demo out>) as the demo's shipped
checkpoint: EMA decoder and EMA DiT^DH weights (fp16; buffers fp32), latent statistics, training logs
and a manifest with sizes, sha256 and the commands that made it. --to defaults to the shipped location
(packages/cli/pretrained/emoji-demo). --task t2i exports a text-to-image demo run (npm run demo --
--task t2i --train … --out <demo out>): its text tower, EMA decoder and EMA DiT^DH
(packages/cli/pretrained/t2i-demo).`;

/** The `npm run demo` command line that reproduces a run, from its plan key (non-default flags only). */
export function demoTrainingCommand(key: Record<string, unknown>, out: string): string {
  const flags = ['--train'];
  const add = (name: string, v: unknown, dflt: unknown) => v != null && v !== dflt && flags.push(typeof v === 'boolean' ? `--${name}` : `--${name} ${String(v)}`);
  add('quick', key.quick, false);
  add('budget', key.budget, null);
  add('perceptual', key.perceptual, null);
  add('seed', key.seed, 0);
  add('classes', key.classes, null);
  add('skin-tones', key.skinTones, 'off');
  add('gan', key.gan, 'off');
  add('k-sweep', key.kSweep, false);
  add('decoder-steps', key.decoderSteps, null);
  add('dit-steps', key.ditSteps, null);
  return `npm run demo -- ${flags.join(' ')} --out ${out}`;
}

export const demoExportCommand: Command = {
  name: 'demo-export',
  summary: 'export a finished demo training run as the checkpoint the demo ships',
  usage: EXPORT_USAGE,
  async run(argv) {
    const f = parseFlags(argv, { run: { type: 'string' }, to: { type: 'string' }, task: { type: 'string' } }, ExportFlags, 'demo-export');
    if (f.task === 't2i') {
      const work = path.join(f.run, 'work');
      const to = f.to ?? (path.relative(process.cwd(), T2I_PRETRAINED_DIR) || '.');
      const commands = [t2iDemoTrainingCommand(work, f.run), `npm run raev2 -- demo-export --task t2i --run ${f.run} --to ${to}`];
      const m = exportT2IPretrained({ tower: path.join(work, 'tower'), decoder: path.join(work, 'stage1', 'decoder'), run: path.join(work, 'dit') }, to, commands);
      process.stderr.write(`exported ${f.run} (DiT^DH step ${m.step}) → ${to}\n`);
      return;
    }
    const to = f.to ?? (path.relative(process.cwd(), PRETRAINED_DIR) || '.');
    const plan = readPlanFile(path.join(f.run, 'work'));
    if (plan == null) throw new Error(`${f.run} is not a demo run (no work/plan.json)`);
    const commands = [demoTrainingCommand(plan.key, f.run), `npm run raev2 -- demo-export --run ${f.run} --to ${to}`];
    const m = exportPretrained(f.run, to, commands);
    const bytes = Object.values(m.files).reduce((a, e) => a + e.bytes, 0);
    process.stderr.write(`exported ${f.run} (decoder ${m.plan.decoderSteps} steps, DiT ${m.stage2.step} steps) → ${to}: ${Object.keys(m.files).length + 1} files, ${(bytes / 2 ** 20).toFixed(1)} MiB\n`);
  },
};
