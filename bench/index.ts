/**
 * `npm run bench [-- flags]`: throughput of the tfjs backend (RAEV2_BACKEND, default auto) against
 * onnxruntime-node in the same process — matmul, a transformer block, encoders, and the real
 * workloads: DiT^DH training step (MFU), sampling with free guidance vs CFG, the RAE decoder, and
 * thread scaling 1 → N, and the emoji demo per stage against its pre-#13 settings. Prints the
 * tables and writes them with the raw results as JSON.
 *   --smoke            tiny sizes, one run each (seconds; used by the test suite)
 *   --only a,b         sections: matmul, block, encoder, dit-train, sampling, decoder, scaling, demo-eval (default all)
 *   --no-cpu           skip the pure-JS cpu backend column
 *   --threads N|auto   wasm threads (default RAEV2_WASM_THREADS, else every core)
 *   --onnx-threads N   onnxruntime intra-op threads (default every core)
 *   --dit-s-head N     head width of the DiT-S-sized case (default 512; published 2048)
 *   --dit-cases all|demo      DiT training cases (default all)
 *   --scaling-cases all|demo  DiT cases the thread-scaling children time (default demo)
 *   --dit-products both|xnnpack|onnxruntime  where the training step's large products run (default both, in turn)
 *   --json FILE        where the JSON goes (default outputs/bench/report.json)
 */
import { z } from 'zod';
import * as path from 'node:path';
import { parseFlags, UsageError, writeFileAtomic } from '@raev2/core';
import { runBench, SECTIONS } from './run.js';
import { describeMachine } from './machine.js';
import { renderTable } from './table.js';

const Flags = z.object({
  smoke: z.boolean().default(false),
  only: z.string().optional().transform((s, ctx) => {
    if (s == null) return undefined;
    const list = s.split(',').map((x) => x.trim()).filter(Boolean);
    const bad = list.filter((x) => !(SECTIONS as readonly string[]).includes(x));
    if (bad.length) ctx.addIssue({ code: 'custom', message: `unknown section(s) ${bad.join(', ')}; choose from ${SECTIONS.join(', ')}` });
    return list as (typeof SECTIONS)[number][];
  }),
  'no-cpu': z.boolean().default(false),
  threads: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(8)]).optional(),
  'onnx-threads': z.coerce.number().int().min(1).optional(),
  'dit-s-head': z.coerce.number().int().min(64).multipleOf(64).default(512),
  'dit-cases': z.enum(['all', 'demo']).default('all'),
  'scaling-cases': z.enum(['all', 'demo']).default('demo'),
  'dit-products': z.enum(['both', 'xnnpack', 'onnxruntime']).default('both'),
  json: z.string().default(path.join('outputs', 'bench', 'report.json')),
});

async function main(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, {
    smoke: { type: 'boolean' },
    only: { type: 'string' },
    'no-cpu': { type: 'boolean' },
    threads: { type: 'string' },
    'onnx-threads': { type: 'string' },
    'dit-s-head': { type: 'string' },
    'dit-cases': { type: 'string' },
    'scaling-cases': { type: 'string' },
    'dit-products': { type: 'string' },
    json: { type: 'string' },
  }, Flags, 'bench');
  if (flags.threads != null) process.env.RAEV2_WASM_THREADS = String(flags.threads);
  process.env.RAEV2_QUIET ??= '1';
  const report = await runBench({
    smoke: flags.smoke,
    sections: flags.only,
    cpu: !flags['no-cpu'],
    onnxThreads: flags['onnx-threads'],
    ditSHead: flags['dit-s-head'],
    ditCases: flags['dit-cases'],
    scalingCases: flags['scaling-cases'],
    ditProducts: flags['dit-products'],
    log: (line) => process.stderr.write(`[bench] ${line}\n`),
  });
  const out = [describeMachine(report.machine), ...report.tables.map(renderTable), `total ${report.seconds.toFixed(1)} s${flags.smoke ? ' (smoke mode)' : ''}`];
  process.stdout.write(`${out.join('\n\n')}\n`);
  writeFileAtomic(flags.json, JSON.stringify(report, null, 2));
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`${e instanceof UsageError ? e.message : (e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
