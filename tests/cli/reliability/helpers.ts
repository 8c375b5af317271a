/** Child-process helpers for the reliability tests: run the `raev2` bin (or `npm run raev2`) and watch a run folder. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { ROOT } from '../../helpers/fixtures.js';
import { writeSyntheticImages } from '../../core/stage1/helpers.js';

export const BIN = path.join(ROOT, 'packages', 'cli', 'bin', 'raev2.mjs');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export const tmpDir = (tag: string) => fs.mkdtempSync(path.join(os.tmpdir(), `raev2-rel-${tag}-`));

/** Start `raev2 <args>` through its bin (or through `npm run raev2 --` with `npm: true`). */
export function startCli(args: string[], opts: { npm?: boolean; env?: Record<string, string> } = {}): { child: ChildProcess; done: Promise<Exit> } {
  const [cmd, argv] = opts.npm ? ['npm', ['run', '--silent', 'raev2', '--', ...args]] : [process.execPath, [BIN, ...args]];
  const child = spawn(cmd, argv, { cwd: ROOT, env: { ...process.env, RAEV2_QUIET: '1', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d));
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const done = new Promise<Exit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Run `raev2 <args>` to the end. */
export function runCli(args: string[], opts: { npm?: boolean; env?: Record<string, string> } = {}): Promise<Exit> {
  return startCli(args, opts).done;
}

/** Resolve when `pred()` holds (polled every 100 ms); reject after `ms` or when `exited` settles first. */
export async function waitFor(pred: () => boolean, ms: number, what: string, exited?: Promise<Exit>): Promise<void> {
  let over: Exit | null = null;
  exited?.then((e) => (over = e));
  const t0 = Date.now();
  while (!pred()) {
    if (over) throw new Error(`the process ended before ${what}: ${JSON.stringify(over)}`);
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** 16 synthetic 32-px PNGs (cached per process). */
let data: string | null = null;
export async function syntheticData(): Promise<string> {
  if (data) return data;
  const root = tmpDir('data');
  process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  data = path.join(root, 'images');
  await writeSyntheticImages(data, 16, 32, 5);
  return data;
}

/** Flags of a small, fast `stage1 train` on `data` (32 px, no perceptual / GAN losses). */
export const smallStage1 = (data: string, out: string, steps: number, extra: string[] = []) => [
  'stage1', 'train', '--data', `folder:${data}`, '--out', out, '--image-size', '32', '--perceptual', 'none', '--gan', 'off', '--batch', '4', '--steps', String(steps), '--log-every', '1', ...extra,
];

/** Is process `pid` alive? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Mount a size-limited tmpfs (`opts` as for mount -o) on a fresh folder, run `fn`, unmount. Root only: elsewhere the mount fails and so does the test. */
export async function withTmpfs(opts: string, fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = tmpDir('tmpfs');
  execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir]);
  try {
    await fn(dir);
  } finally {
    execFileSync('umount', [dir]);
    fs.rmSync(dir, { recursive: true });
  }
}
