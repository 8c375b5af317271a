/**
 * The ffmpeg binary, driven directly through child_process with raw rgb24 frames over pipes.
 * Resolution order: FFMPEG_PATH, then `ffmpeg-static` (optional: its install downloads the binary),
 * then `@ffmpeg-installer/ffmpeg` (ships a static build inside npm), then `ffmpeg` on PATH.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Where each candidate was looked for (for the error message). */
export function ffmpegCandidates(env: NodeJS.ProcessEnv = process.env): { source: string; path: string | null }[] {
  const out: { source: string; path: string | null }[] = [];
  out.push({ source: 'FFMPEG_PATH', path: env.FFMPEG_PATH ? env.FFMPEG_PATH : null });
  for (const pkg of ['ffmpeg-static', '@ffmpeg-installer/ffmpeg']) {
    let p: string | null = null;
    try {
      const mod = require(pkg) as string | { path?: string };
      p = typeof mod === 'string' ? mod : (mod?.path ?? null);
    } catch {
      p = null;
    }
    out.push({ source: pkg, path: p });
  }
  const onPath = (env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'ffmpeg')).find((f) => isExecutable(f)) ?? null;
  out.push({ source: 'PATH', path: onPath });
  return out;
}

function isExecutable(f: string): boolean {
  try {
    fs.accessSync(f, fs.constants.X_OK);
    return fs.statSync(f).isFile();
  } catch {
    return false;
  }
}

/** The ffmpeg binary to use, or a clear error saying how to get one. */
export function resolveFfmpeg(env: NodeJS.ProcessEnv = process.env): string {
  const c = ffmpegCandidates(env);
  if (env.FFMPEG_PATH) {
    if (!isExecutable(env.FFMPEG_PATH)) throw new Error(`FFMPEG_PATH=${env.FFMPEG_PATH} is not an executable file`);
    return env.FFMPEG_PATH;
  }
  const found = c.find((x) => x.path != null && isExecutable(x.path));
  if (found?.path) return found.path;
  throw new Error('no ffmpeg binary found: set FFMPEG_PATH, or `npm install @ffmpeg-installer/ffmpeg` (a static build inside npm), or install ffmpeg on PATH (e.g. apt-get install ffmpeg)');
}

/** Whether the resolved ffmpeg has an encoder (e.g. libx264). */
export function hasEncoder(ffmpeg: string, name: string): boolean {
  const r = spawnSync(ffmpeg, ['-hide_banner', '-encoders'], { encoding: 'utf8' });
  return r.status === 0 && new RegExp(`\\s${name}\\s`).test(r.stdout);
}

/** Run ffmpeg with `args`, writing `input` to its stdin; resolves with stdout, rejects with its stderr tail. */
export function runFfmpeg(ffmpeg: string, args: string[], input?: Iterable<Uint8Array>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [], err: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.on('error', (e) => reject(new Error(`cannot run ${ffmpeg}: ${e.message}`)));
    p.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`ffmpeg exited with ${code}: ${Buffer.concat(err).toString('utf8').trim().split('\n').slice(-4).join(' | ')}`));
    });
    p.stdin.on('error', () => {}); // ffmpeg may close stdin early on bad input; the exit code reports it
    (async () => {
      if (input) for (const f of input) if (!p.stdin.write(f)) await new Promise((r) => p.stdin.once('drain', r));
      p.stdin.end();
    })();
  });
}
