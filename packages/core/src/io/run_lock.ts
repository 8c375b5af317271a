/**
 * One writer per run folder: `<run>/run.lock` holds the pid, host and start time of the process
 * that owns the folder. A second run on it is refused with a message naming the holder; a lock whose
 * process is gone (same host, dead pid — e.g. after kill -9) is taken over with a warning. The lock
 * is re-entrant within one process (the command and the training loop may both take it) and is
 * removed when the last holder releases it or the process exits (with the folder, when taking the
 * lock created it and the run left it empty).
 */
import fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { checkOutput, ensureDir } from './output.js';
import { writeError } from './write_error.js';

export const LOCK_FILE = 'run.lock';

const LockSchema = z.object({ pid: z.number().int().positive(), host: z.string(), startedAt: z.string(), command: z.string().optional() }).loose();
export type LockInfo = z.infer<typeof LockSchema>;

/** A run folder held by another live process. */
export class RunLockedError extends Error {
  constructor(message: string, readonly holder: LockInfo) {
    super(message);
    this.name = 'RunLockedError';
  }
}

/** A held lock; `release()` is idempotent. */
export interface RunLock {
  readonly file: string;
  release(): void;
}

/** Locks this process holds, by lock file: reference count and content. */
const held = new Map<string, { count: number; text: string; createdDir: string | null }>();
let exitHookInstalled = false;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function readLock(file: string): LockInfo | null {
  try {
    const r = LockSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

function describe(h: LockInfo): string {
  return `pid ${h.pid} on ${h.host}, started ${h.startedAt}${h.command ? ` (${h.command})` : ''}`;
}

/** Create `file` with `text` only if it does not exist; false when it does. */
function createExclusive(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw writeError(file, e, 'cannot create the run lock');
  }
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw writeError(file, e, 'cannot write the run lock');
  }
  fs.closeSync(fd);
  return true;
}

/**
 * Take the lock of run folder `dir` (created when missing). Throws RunLockedError naming the holder
 * when another live process holds it; takes over a stale lock (dead pid on this host, or an
 * unreadable lock file) with a warning on stderr.
 */
export function acquireRunLock(dir: string, opts: { command?: string } = {}): RunLock {
  const createdDir = fs.existsSync(dir) ? null : path.resolve(dir);
  ensureDir(dir);
  const file = path.resolve(dir, LOCK_FILE);
  const mine = held.get(file);
  if (mine) {
    mine.count++;
    return handle(file);
  }
  const info: LockInfo = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), command: opts.command ?? process.argv.slice(2).join(' ') };
  const text = JSON.stringify(info) + '\n';
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createExclusive(file, text)) {
      held.set(file, { count: 1, text, createdDir });
      installExitHook();
      return handle(file);
    }
    const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    const holder = readLock(file);
    if (holder && holder.host !== os.hostname()) {
      throw new RunLockedError(`run folder ${dir} is in use by ${describe(holder)}; wait for that run to end, or remove ${file} if it is no longer running`, holder);
    }
    if (holder && pidAlive(holder.pid)) {
      throw new RunLockedError(`run folder ${dir} is in use by ${describe(holder)}; wait for it to finish or stop it (Ctrl-C checkpoints), or use another folder`, holder);
    }
    process.stderr.write(`warning: ${dir}: taking over the stale run lock of ${holder ? `${describe(holder)}, which is no longer running` : 'an unreadable lock file'}\n`);
    // remove it only if it is still the stale one we read (another process may have taken it over meanwhile)
    if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === before) fs.rmSync(file, { force: true });
  }
  const holder = readLock(file);
  throw new RunLockedError(`run folder ${dir}: could not take the run lock ${file}${holder ? ` (held by ${describe(holder)})` : ''}`, holder ?? { pid: 0, host: '', startedAt: '' });
}

/** The holder recorded in `dir`'s lock file, or null when there is none (or it is unreadable). */
export function runLockHolder(dir: string): LockInfo | null {
  return readLock(path.resolve(dir, LOCK_FILE));
}

function handle(file: string): RunLock {
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      const h = held.get(file);
      if (h == null) return;
      if (--h.count > 0) return;
      held.delete(file);
      removeIfOurs(file, h.text);
      // a run that failed before writing anything leaves no empty folder behind
      if (h.createdDir) {
        try {
          fs.rmdirSync(h.createdDir);
        } catch {
          // not empty: the run wrote something
        }
      }
    },
  };
}

function removeIfOurs(file: string, text: string): void {
  try {
    if (fs.readFileSync(file, 'utf8') === text) fs.rmSync(file, { force: true });
  } catch {
    // already gone
  }
}

/** On any exit (including process.exit from a second Ctrl-C), remove the locks still held. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [file, h] of held) removeIfOurs(file, h.text);
    held.clear();
  });
}

/** Check a run folder given as `what` (e.g. `--out`) can be written, then lock it: before any work. */
export function prepareRunDir(dir: string, what = '--out'): RunLock {
  checkOutput(dir, { kind: 'dir', what });
  return acquireRunLock(dir);
}
