/**
 * The one atomic writer for every file the project writes (safetensors, checkpoints, images, JSON,
 * reports, videos): bytes go to a temp file beside the target, every byte is written (short writes
 * are continued), the file is fsynced and renamed over the target. On any error the temp file (or
 * temp folder) is removed and the error names the target path and the cause — ENOSPC reads
 * "disk full", EROFS "read-only file system" — so a full disk never leaves a truncated output.
 */
import fs from 'node:fs';
import * as path from 'node:path';
import { WriteError, describeFsError, writeError } from './write_error.js';
import { ensureDir } from './output.js';

export { WriteError, describeFsError, writeError } from './write_error.js';

/** Write every byte of `data` to the open `fd` (continuing after short writes; a write of 0 bytes is a full disk). */
export function writeAll(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.byteLength) {
    const n = fs.writeSync(fd, data, done, Math.min(data.byteLength - done, 1 << 30));
    if (!(n > 0)) {
      const e = new Error(`wrote ${done} of ${data.byteLength} bytes`) as NodeJS.ErrnoException;
      e.code = 'ENOSPC';
      throw e;
    }
    done += n;
  }
}

/** A temp name beside `target`, unique per process and call. */
let counter = 0;
export function tempPathFor(target: string): string {
  return `${target}.tmp-${process.pid}-${Date.now()}-${counter++}`;
}

/** Write `data` into the new file `file`, every byte, fsynced; on error remove it and rethrow the raw error. */
function writeNew(file: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'wx');
    writeAll(fd, bytes);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
  } catch (e) {
    if (fd !== undefined) closeQuietly(fd);
    fs.rmSync(file, { force: true });
    throw e;
  }
}

/** Write `data` into a new file `file` (not atomic by itself: for files inside a temp folder), fsynced; removes it on error. */
export function writeFileSynced(file: string, data: string | Uint8Array): void {
  try {
    writeNew(file, data);
  } catch (e) {
    throw writeError(file, e);
  }
}

/**
 * Write `data` to `file` atomically: a temp file in the same folder, every byte written, fsynced,
 * renamed over `file`, the folder fsynced. Creates missing parent folders. On failure nothing is
 * left behind and a WriteError names `file` and the cause.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(path.resolve(file));
  ensureDir(dir);
  const tmp = tempPathFor(file);
  try {
    writeNew(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw writeError(file, e);
  }
  fsyncDir(dir);
}

/** Copy `src` to `dst` through writeFileAtomic (all bytes, fsync, rename; errors name `dst` and the cause). */
export function copyFileAtomic(src: string, dst: string): void {
  let data: Buffer;
  try {
    data = fs.readFileSync(src);
  } catch (e) {
    throw writeError(dst, e, `cannot copy ${src} to`);
  }
  writeFileAtomic(dst, data);
}

/**
 * Produce a file through `produce(tmp)` (e.g. an encoder or ffmpeg writing to a path), then fsync and
 * rename it to `file`. On failure — including a producer that wrote nothing — the temp file is removed.
 */
export async function produceFileAtomic(file: string, produce: (tmp: string) => Promise<void> | void): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  ensureDir(dir);
  const ext = path.extname(file);
  const tmp = `${tempPathFor(file)}${ext}`; // keep the extension: producers pick the format by it
  try {
    await produce(tmp);
    if (!fs.existsSync(tmp)) throw new Error('the producer wrote nothing');
    const fd = fs.openSync(tmp, 'r+');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw writeError(file, e);
  }
  fsyncDir(dir);
}

/**
 * Build a folder atomically: `fill(tmp)` writes into a fresh temp folder beside `dir` (with
 * writeFileSynced or writeFileAtomic), which is then renamed to `dir` (an existing `dir` is moved
 * aside first and removed after). On any error the temp folder is removed.
 */
export async function writeDirAtomic<T>(dir: string, fill: (tmp: string) => T | Promise<T>): Promise<T> {
  const tmp = openTempDir(dir);
  let out: T;
  try {
    out = await fill(tmp);
  } catch (e) {
    throw abortTempDir(tmp, dir, e);
  }
  commitTempDir(tmp, dir);
  return out;
}

/** writeDirAtomic for a synchronous `fill`. */
export function writeDirAtomicSync<T>(dir: string, fill: (tmp: string) => T): T {
  const tmp = openTempDir(dir);
  let out: T;
  try {
    out = fill(tmp);
  } catch (e) {
    throw abortTempDir(tmp, dir, e);
  }
  commitTempDir(tmp, dir);
  return out;
}

/** A fresh temp folder beside `dir` (its parent created). */
function openTempDir(dir: string): string {
  const tmp = tempPathFor(dir);
  try {
    ensureDir(path.dirname(path.resolve(dir)));
    fs.mkdirSync(tmp);
  } catch (e) {
    throw abortTempDir(tmp, dir, e);
  }
  return tmp;
}

/** fsync the filled temp folder, put it in place of `dir`, fsync the parent; on error the temp folder is removed. */
function commitTempDir(tmp: string, dir: string): void {
  try {
    fsyncDir(tmp);
    replaceDir(tmp, dir);
  } catch (e) {
    throw abortTempDir(tmp, dir, e);
  }
  fsyncDir(path.dirname(path.resolve(dir)));
}

/** Remove the temp folder; the error to throw, naming `dir` and the cause. */
function abortTempDir(tmp: string, dir: string, e: unknown): Error {
  fs.rmSync(tmp, { recursive: true, force: true });
  return writeError(dir, e);
}

/** Append `text` to `file` (a log), every byte written; errors name the file and the cause. */
export function appendFileChecked(file: string, text: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'a');
    writeAll(fd, Buffer.from(text, 'utf8'));
    fs.closeSync(fd);
    fd = undefined;
  } catch (e) {
    if (fd !== undefined) closeQuietly(fd);
    throw writeError(file, e, 'cannot append to');
  }
}

/** Rename `src` to `dst`, replacing an existing `dst` folder (moved aside first, then removed). */
export function replaceDir(src: string, dst: string): void {
  if (!fs.existsSync(dst)) return fs.renameSync(src, dst);
  const old = `${dst}.old-${process.pid}-${Date.now()}`;
  fs.renameSync(dst, old);
  try {
    fs.renameSync(src, dst);
  } catch (e) {
    fs.renameSync(old, dst);
    throw e;
  }
  fs.rmSync(old, { recursive: true, force: true });
}

/** fsync a directory so a rename in it is durable (not supported on every platform: best effort). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // e.g. Windows cannot open directories
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already failing: the first error is the one to report
  }
}
