/**
 * The emoji demo as users run it (`npm run demo`: the shipped checkpoint, evaluation of the trained
 * and untrained DiT^DH, samples), timed per stage from the metrics.json each run writes, in child
 * processes: first with the pre-#13 settings (1 wasm thread, wasm's own copy kernels, the tfjs
 * engine: sampling, decoding, encoding and every product on the tensor backend), then with the
 * defaults. Smoke mode runs the defaults alone with 2 sampling steps.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { BenchContext } from './context.js';
import { fmt } from './timing.js';
import type { Table } from './table.js';

export interface DemoEvalResult {
  settings: 'pre-#13' | 'default';
  /** Seconds per demo stage, as the run's metrics.json records them. */
  stages: Record<string, number>;
  /** The run's scores (they must not depend on the settings beyond float rounding). */
  fdLatent: number[];
}

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The env of a pre-#13 run: what `npm run demo` did before the speed work. */
export const PRE_13_ENV = { RAEV2_WASM_THREADS: '1', RAEV2_WASM_FAST_COPIES: '0', RAEV2_ENGINE: 'tfjs' } as const;

const Scores = z.object({ fd: z.object({ latent: z.number() }).passthrough() }).passthrough();
const Metrics = z.object({
  timings: z.object({ stages: z.record(z.string(), z.number()) }).passthrough(),
  generation: z.object({ untrained: Scores, trainedUnguided: Scores, trained: Scores }).passthrough(),
}).passthrough();

/** Stage timings and FD scores from a demo run's metrics.json (validated; errors name the file). */
export function readDemoTimings(file: string): { stages: Record<string, number>; fdLatent: number[] } {
  const parsed = Metrics.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file}: not a demo metrics.json (${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message})`);
  const g = parsed.data.generation;
  return { stages: parsed.data.timings.stages, fdLatent: [g.untrained, g.trainedUnguided, g.trained].map((m) => m.fd.latent) };
}

export async function benchDemoEval(ctx: BenchContext): Promise<{ table: Table; results: DemoEvalResult[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-bench-demo-'));
  const results: DemoEvalResult[] = [];
  try {
    const runs = ctx.smoke ? (['default'] as const) : (['pre-#13', 'default'] as const);
    for (const settings of runs) {
      ctx.log(`emoji demo (shipped checkpoint), ${settings} settings (child process)`);
      const out = path.join(dir, settings === 'default' ? 'default' : 'pre13');
      const args = ['packages/cli/bin/raev2.mjs', 'demo', '--out', out, ...(ctx.smoke ? ['--sample-steps', '2'] : [])];
      const env: NodeJS.ProcessEnv = { ...process.env, RAEV2_QUIET: '1', RAEV2_BACKEND: ctx.backend };
      for (const k of ['RAEV2_WASM_THREADS', 'RAEV2_WASM_FAST_COPIES', 'RAEV2_ENGINE', 'RAEV2_ORT_THREADS']) delete env[k];
      if (settings === 'pre-#13') Object.assign(env, PRE_13_ENV);
      const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env, timeout: 30 * 60_000 });
      if (r.status !== 0) throw new Error(`demo child (${settings}) failed with ${r.status ?? r.signal}: ${(r.stderr || r.stdout).slice(-1500)}`);
      results.push({ settings, ...readDemoTimings(path.join(out, 'metrics.json')) });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const base = results[0];
  const ratio = (v: number, b: number) => (base.settings === 'pre-#13' ? fmt(v / b, 2) : '—');
  const stage = (r: DemoEvalResult, s: string) => r.stages[s] ?? 0;
  const total = (r: DemoEvalResult) => Object.values(r.stages).reduce((a, b) => a + b, 0);
  const table: Table = {
    title: 'emoji demo, shipped checkpoint (`npm run demo`): seconds per stage, one child process per setting',
    headers: ['settings', 'decoder eval s', 'evaluation s', '× pre-#13', 'samples s', 'total s', '× pre-#13', 'FD latent (untrained / unguided / guided)'],
    rows: results.map((r) => [
      r.settings, fmt(stage(r, 'decoderEval')), fmt(stage(r, 'evaluation')), ratio(stage(r, 'evaluation'), stage(base, 'evaluation')),
      fmt(stage(r, 'samples')), fmt(total(r)), ratio(total(r), total(base)), r.fdLatent.map((v) => v.toFixed(3)).join(' / '),
    ]),
    notes: [
      `pre-#13: ${Object.entries(PRE_13_ENV).map(([k, v]) => `${k}=${v}`).join(' ')} (1 thread, wasm's own copies, everything on the tfjs backend); default: every core, onnxruntime engine`,
      '× pre-#13: time relative to the pre-#13 run (below 1 is faster)',
    ],
  };
  return { table, results };
}
