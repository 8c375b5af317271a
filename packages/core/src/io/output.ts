/**
 * Output locations checked before any work: a command validates its `--out` (file or folder) up
 * front, so a wrong kind, an unwritable or read-only disk, or a virtual file system (/proc, /sys,
 * where `mkdir -p` can loop forever) is reported at once with the path and the cause instead of
 * after an hour of training or as a raw "ENOENT … mkdir".
 */
import fs from 'node:fs';
import * as path from 'node:path';
import { WriteError, describeFsError } from './write_error.js';

/** statfs magic numbers of kernel file systems that hold no user files. */
const VIRTUAL_FS: Record<number, string> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x1cd1: 'devpts',
  0x64626720: 'debugfs',
  0x73636673: 'securityfs',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x6e736673: 'nsfs',
  0xcafe4a11: 'bpf',
  0x74726163: 'tracefs',
};

export interface OutputCheck {
  /** 'file': `target` is (or will be) a file; 'dir': a folder (created when missing). */
  kind: 'file' | 'dir';
  /** How the user named it, for messages (e.g. '--out'). */
  what?: string;
  /** For kind 'file': refuse an existing file (default false: it is replaced atomically). */
  mustBeNew?: boolean;
}

/** The nearest existing ancestor of `p` (itself when it exists). */
function nearestExisting(p: string): string {
  let cur = path.resolve(p);
  for (;;) {
    if (fs.existsSync(cur)) return cur;
    const up = path.dirname(cur);
    if (up === cur) return cur;
    cur = up;
  }
}

/** The virtual file system `p` lies on ('proc', 'sysfs', …), or null for a regular one. */
export function virtualFileSystem(p: string): string | null {
  try {
    return VIRTUAL_FS[fs.statfsSync(nearestExisting(p)).type] ?? null;
  } catch {
    return null;
  }
}

/**
 * Check that `target` can be written as `kind` before any work starts; throws a WriteError naming
 * the path and the reason (an existing file where a folder is wanted and vice versa, a parent that is
 * a file, a virtual or read-only file system, no write permission).
 */
export function checkOutput(target: string, opts: OutputCheck): void {
  const what = opts.what?.endsWith(':') ? opts.what.slice(0, -1) : opts.what ? `${opts.what} ${target}` : target;
  const fail = (why: string, code?: string): never => {
    throw new WriteError(target, `${what}: ${why}`, code);
  };
  const abs = path.resolve(target);
  const vfs = virtualFileSystem(abs);
  if (vfs) fail(`is on the ${vfs} virtual file system, which cannot hold outputs; choose a folder on a disk`);
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(abs);
  } catch {
    st = null;
  }
  if (st != null) {
    if (opts.kind === 'dir' && !st.isDirectory()) fail('exists and is not a folder (it must be a run folder); choose another path or remove it', 'ENOTDIR');
    if (opts.kind === 'file' && st.isDirectory()) fail('is a folder; give a file path', 'EISDIR');
    if (opts.kind === 'file' && opts.mustBeNew) fail('already exists; remove it or choose another path', 'EEXIST');
  }
  const base = nearestExisting(opts.kind === 'dir' && st != null ? abs : path.dirname(abs));
  if (!fs.statSync(base).isDirectory()) fail(`cannot be created: ${base} is a file, not a folder`, 'ENOTDIR');
  try {
    fs.accessSync(base, fs.constants.W_OK);
  } catch (e) {
    fail(`cannot be written: ${base} is not writable — ${describeFsError(e)}`, (e as NodeJS.ErrnoException).code);
  }
}

/** `mkdir -p` that refuses virtual file systems (where node's recursive mkdir can loop forever) and names the cause. */
export function ensureDir(dir: string): void {
  const abs = path.resolve(dir);
  if (fs.existsSync(abs)) {
    if (!fs.statSync(abs).isDirectory()) throw new WriteError(dir, `cannot use ${dir} as a folder: it is a file`, 'ENOTDIR');
    return;
  }
  const vfs = virtualFileSystem(abs);
  if (vfs) throw new WriteError(dir, `cannot create ${dir}: it is on the ${vfs} virtual file system`, 'EPERM');
  try {
    fs.mkdirSync(abs, { recursive: true });
  } catch (e) {
    // node's recursive mkdir reports a read-only disk as ENOENT: name the real cause when the ancestor shows it
    checkOutput(abs, { kind: 'dir', what: `cannot create the folder ${dir}:` });
    throw new WriteError(dir, `cannot create the folder ${dir}: ${describeFsError(e)}`, (e as NodeJS.ErrnoException).code);
  }
}
