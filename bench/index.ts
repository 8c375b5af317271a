/**
 * `npm run bench [-- flags]`: matmul, transformer-block and encoder throughput of the tfjs
 * backend (RAEV2_BACKEND, default auto) against onnxruntime-node in the same process.
 *   --smoke            tiny sizes, one run each (seconds; used by the test suite)
 *   --only a,b         sections: matmul, block, encoder (default all)
 *   --no-cpu           skip the pure-JS cpu backend column
 *   --threads N|auto   wasm threads (default RAEV2_WASM_THREADS, else 1)
 *   --onnx-threads N   onnxruntime intra-op threads (default 2)
 *   --json FILE        also write the raw results as JSON
 */
import * as fs from 'node:fs';
import { z } from 'zod';
import { parseFlags, UsageError } from '@raev2/core';
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
  'onnx-threads': z.coerce.number().int().min(1).default(2),
  json: z.string().optional(),
});

async function main(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, {
    smoke: { type: 'boolean' },
    only: { type: 'string' },
    'no-cpu': { type: 'boolean' },
    threads: { type: 'string' },
    'onnx-threads': { type: 'string' },
    json: { type: 'string' },
  }, Flags, 'bench');
  if (flags.threads != null) process.env.RAEV2_WASM_THREADS = String(flags.threads);
  process.env.RAEV2_QUIET ??= '1';
  const report = await runBench({
    smoke: flags.smoke,
    sections: flags.only,
    cpu: !flags['no-cpu'],
    onnxThreads: flags['onnx-threads'],
    log: (line) => process.stderr.write(`[bench] ${line}\n`),
  });
  const out = [describeMachine(report.machine), ...report.tables.map(renderTable), `total ${report.seconds.toFixed(1)} s${flags.smoke ? ' (smoke mode)' : ''}`];
  process.stdout.write(`${out.join('\n\n')}\n`);
  if (flags.json) fs.writeFileSync(flags.json, JSON.stringify(report, null, 2));
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`${e instanceof UsageError ? e.message : (e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
