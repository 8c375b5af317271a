#!/usr/bin/env node
// Runs every tests/**/*.test.ts with node:test through tsx (Node 20 has no glob support in --test).
// Extra arguments filter by path substring: `npm test -- encoders`. Tests pin one wasm thread
// (RAEV2_WASM_THREADS=1; several test processes may share the cores) and the tfjs inference engine
// (RAEV2_ENGINE=tfjs: tests compare commands against tfjs bit for bit; the onnxruntime engine has
// its own tests, which choose it explicitly) unless the caller sets them.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = join(import.meta.dirname, '..');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const files = readdirSync(join(root, 'tests'), { recursive: true })
  .map((f) => join('tests', String(f)))
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
const args = ['--conditions=@raev2/source', '--import', 'tsx', '--test', '--test-concurrency=1', ...files];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { RAEV2_QUIET: '1', RAEV2_WASM_THREADS: '1', RAEV2_ENGINE: 'tfjs', ...process.env } });
process.exit(r.status ?? 1);
