import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Linear, Rng, checkOutput, copyFileAtomic, latestCheckpoint, readCheckpointState, saveCheckpoint, saveSafetensors, writeFileAtomic, writeDirAtomic, writeFileSynced } from '@raev2/core';
import { useBackend } from '../../helpers/fixtures.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-atomic-'));
/** Names in `dir` that are leftovers of a failed write. */
const leftovers = (dir: string) => fs.readdirSync(dir).filter((n) => /\.tmp-|\.old-/.test(n));
const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

/** Replace fs.writeSync with one that writes at most `chunk` bytes per call and fails with ENOSPC once `capacity` bytes are written. */
function limitedDisk(capacity: number, chunk: number) {
  const real = fs.writeSync;
  let written = 0;
  return mock.method(fs, 'writeSync', ((fd: number, buf: Uint8Array | string, off?: number, len?: number, pos?: number | null) => {
    const data = typeof buf === 'string' ? Buffer.from(buf) : buf;
    const o = typeof off === 'number' ? off : 0;
    const l = typeof len === 'number' ? len : data.byteLength - o;
    const room = capacity - written;
    if (room <= 0) {
      const e = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
      e.code = 'ENOSPC';
      throw e;
    }
    const n = real(fd, data, o, Math.min(l, chunk, room), pos ?? null);
    written += n;
    return n;
  }) as typeof fs.writeSync);
}

test('writeFileAtomic: short writes are continued until every byte is on disk', () => {
  const dir = tmp();
  const file = path.join(dir, 'a.bin');
  const data = bytes(10_000);
  const m = limitedDisk(Infinity, 777);
  try {
    writeFileAtomic(file, data);
  } finally {
    m.mock.restore();
  }
  assert.ok(m.mock.callCount() >= Math.ceil(10_000 / 777), `${m.mock.callCount()} write calls`);
  assert.deepEqual(new Uint8Array(fs.readFileSync(file)), data);
  assert.deepEqual(leftovers(dir), []);
  fs.rmSync(dir, { recursive: true });
});

test('writeFileAtomic / saveSafetensors / copyFileAtomic / writeDirAtomic on a full disk (injected): fail naming the path and "disk full", leave no temp file, keep the old file', async () => {
  const dir = tmp();
  const file = path.join(dir, 'x.safetensors');
  writeFileAtomic(file, 'old');
  const src = path.join(os.tmpdir(), `raev2-atomic-src-${process.pid}.bin`);
  fs.writeFileSync(src, bytes(30_000));
  for (const write of [
    () => writeFileAtomic(file, bytes(50_000)),
    () => saveSafetensors(file, { w: { dtype: 'F32', shape: [100, 100], data: new Float32Array(10_000) } }),
    () => copyFileAtomic(src, file),
  ]) {
    const m = limitedDisk(20_000, 4096);
    try {
      assert.throws(write, (e: Error) => e.message.includes(file) && /disk full \(ENOSPC\)/.test(e.message), 'names the file and the cause');
    } finally {
      m.mock.restore();
    }
    assert.equal(fs.readFileSync(file, 'utf8'), 'old', 'the previous file is untouched');
    assert.deepEqual(leftovers(dir), []);
  }
  fs.rmSync(src);
  const folder = path.join(dir, 'decoder');
  const m = limitedDisk(1000, 4096);
  try {
    await assert.rejects(writeDirAtomic(folder, (t) => writeFileSynced(path.join(t, 'model.safetensors'), bytes(5000))), /decoder[\s\S]*disk full/);
  } finally {
    m.mock.restore();
  }
  assert.ok(!fs.existsSync(folder));
  assert.deepEqual(leftovers(dir), []);
  fs.rmSync(dir, { recursive: true });
});

test('saveCheckpoint on a full disk (injected): no ckpt, no temp folder, the last checkpoint stays latest', async () => {
  await useBackend('cpu');
  const dir = tmp();
  const net = new Linear(64, 64, { rng: new Rng(0) });
  saveCheckpoint(dir, { step: 1, modules: { net } });
  const m = limitedDisk(8000, 1 << 20);
  try {
    assert.throws(() => saveCheckpoint(dir, { step: 2, modules: { net } }), /ckpt-2[\s\S]*disk full/);
  } finally {
    m.mock.restore();
  }
  assert.deepEqual(leftovers(dir), []);
  assert.equal(readCheckpointState(latestCheckpoint(dir)!).step, 1);
  net.dispose();
  fs.rmSync(dir, { recursive: true });
});

/** Mount a tmpfs of `size` on a fresh folder (root only; a machine that cannot mount fails the test). */
function withTmpfs(opts: string, fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = tmp();
  execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir]);
  return (async () => {
    try {
      await fn(dir);
    } finally {
      execFileSync('umount', [dir]);
      fs.rmSync(dir, { recursive: true });
    }
  })();
}

test('a real 64 KiB tmpfs: writeFileAtomic and saveCheckpoint fail with "disk full" and leave the disk clean', async () => {
  await useBackend('cpu');
  await withTmpfs('size=64k', (dir) => {
    const file = path.join(dir, 'big.safetensors');
    assert.throws(() => saveSafetensors(file, { w: { dtype: 'F32', shape: [200, 250], data: new Float32Array(50_000) } }), (e: Error) => e.message.includes(file) && /disk full/.test(e.message));
    assert.deepEqual(fs.readdirSync(dir), []);
    const net = new Linear(128, 128, { rng: new Rng(0) }); // 66 KB of weights
    assert.throws(() => saveCheckpoint(dir, { step: 3, modules: { net } }), /ckpt-3[\s\S]*disk full/);
    assert.deepEqual(fs.readdirSync(dir), [], 'no checkpoint and no temp folder');
    net.dispose();
  });
});

test('checkOutput: refuses virtual file systems, a file where a folder is wanted, and a read-only disk, before any work', async () => {
  const dir = tmp();
  const file = path.join(dir, 'f.txt');
  fs.writeFileSync(file, 'x');
  const started = Date.now();
  assert.throws(() => checkOutput('/proc/self/x', { kind: 'dir', what: '--out' }), /--out \/proc\/self\/x: is on the proc virtual file system/);
  assert.throws(() => writeFileAtomic('/proc/self/x/y.json', '{}'), /proc virtual file system/, 'the writer itself never hangs in mkdir -p on /proc');
  assert.ok(Date.now() - started < 5000);
  assert.throws(() => checkOutput(file, { kind: 'dir', what: '--out' }), /f\.txt: exists and is not a folder/);
  assert.throws(() => checkOutput(path.join(file, 'sub'), { kind: 'dir' }), /f\.txt is a file, not a folder/);
  assert.throws(() => checkOutput(file, { kind: 'file', mustBeNew: true }), /already exists/);
  assert.throws(() => checkOutput(dir, { kind: 'file' }), /is a folder/);
  checkOutput(path.join(dir, 'new', 'deeper'), { kind: 'dir' });
  checkOutput(file, { kind: 'file' });
  fs.rmSync(dir, { recursive: true });
  await withTmpfs('size=64k,ro', (ro) => {
    assert.throws(() => checkOutput(path.join(ro, 'run'), { kind: 'dir', what: '--out' }), /--out .*run: cannot be written: .* read-only file system \(EROFS\)/);
    assert.throws(() => writeFileAtomic(path.join(ro, 'run', 'a.json'), '{}'), /read-only file system/);
  });
});
