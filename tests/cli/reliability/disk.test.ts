import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixtureDir } from '../../helpers/fixtures.js';
import { runCli, smallStage1, syntheticData, withTmpfs } from './helpers.js';

const leftovers = (dir: string) => fs.readdirSync(dir, { recursive: true }).map(String).filter((n) => /\.tmp-|\.old-|run\.lock/.test(n));

test('a full disk (8 KiB tmpfs): `raev2 features` exits 1 naming the file and "disk full", leaving nothing behind', async () => {
  const fixture = fixtureDir('dinov2');
  await withTmpfs('size=8k', async (disk) => {
    const out = path.join(disk, 'x.safetensors');
    const r = await runCli(['features', '--model', fixture, '--pixel-values', path.join(fixture, 'io.safetensors'), '--out', out]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot write ${out.replace(/[.]/g, '\\.')}: disk full \\(ENOSPC\\)`));
    assert.doesNotMatch(r.stderr, /wrote/);
    assert.deepEqual(fs.readdirSync(disk), []);
  });
});

test('a full disk (64 KiB tmpfs) under `stage1 train`: exit 1 with "disk full", no checkpoint or decoder temp folder left', async () => {
  const data = await syntheticData();
  await withTmpfs('size=64k', async (disk) => {
    const out = path.join(disk, 'run');
    const r = await runCli(smallStage1(data, out, 2));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /disk full \(ENOSPC\)/);
    assert.deepEqual(leftovers(disk), []);
  });
});

