import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { imageFolder } from '@raev2/core';
import { main, stage1TrainCommand } from '@raev2/cli';
import { useBackend } from '../../helpers/fixtures.js';
import { smallStage1, syntheticData, tmpDir, withTmpfs } from './helpers.js';

/** `raev2 <argv>` in this process: its exit code and what it printed to stderr. */
async function runMain(argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const error = console.error, write = process.stderr.write;
  console.error = (...a: unknown[]) => void (stderr += a.join(' ') + '\n');
  process.stderr.write = ((s: string) => ((stderr += String(s)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(argv), stderr };
  } finally {
    console.error = error;
    process.stderr.write = write;
  }
}

test('bad output locations fail before any work, with a clear message and exit code (main in process; stage1 train/stats, stage2 train, demo): read-only disk, an existing file, /proc, a huge --image-size', { timeout: 120_000 }, async () => {
  await useBackend('wasm');
  const data = await syntheticData();
  const dir = tmpDir('outs');
  const file = path.join(dir, 'taken');
  fs.writeFileSync(file, 'x');
  const cases: [string[], number, RegExp][] = [
    [smallStage1(data, file, 2), 1, /--out .*taken: exists and is not a folder/],
    [smallStage1(data, '/proc/self/x', 2), 1, /--out \/proc\/self\/x: is on the proc virtual file system/],
    [['stage2', 'train', '--encoder', 'mobilenetv2-nsfwjs[layers=last3]', '--stats', path.join(dir, 'none.safetensors'), '--data', `folder:${data}`, '--out', file], 1, /--out .*taken: exists and is not a folder/],
    [['demo', '--out', '/proc/self/x'], 1, /--out \/proc\/self\/x: is on the proc virtual file system/],
    [[...smallStage1(data, path.join(dir, 'r'), 2), '--image-size', '100000'], 2, /--image-size 100000: must be an integer number of pixels in \[1, 4096\]/],
    [['stage1', 'stats', '--data', `folder:${data}`, '--out', path.join(dir, 's.safetensors'), '--image-size', '100000'], 2, /--image-size: Too big: expected number to be <=4096/],
  ];
  await withTmpfs('size=64k,ro', async (ro) => {
    cases.push([smallStage1(data, path.join(ro, 'run'), 2), 1, /--out .*run: cannot be written: .* read-only file system \(EROFS\)/]);
    for (const [argv, code, re] of cases) {
      const r = await runMain(argv);
      assert.equal(r.code, code, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /Invalid typed array length|ENOENT.*mkdir/);
    }
  });
  assert.ok(!fs.existsSync(path.join(dir, 'r')), 'the rejected run created nothing');
  fs.rmSync(dir, { recursive: true });
});

test('.bmp is not listed as readable (sharp cannot decode it) and is reported when skipped; a truncated PNG in stage1 train names the file', async () => {
  await useBackend('wasm');
  const data = await syntheticData();
  const dir = tmpDir('bmp');
  fs.cpSync(data, path.join(dir, 'imgs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'imgs', 'photo.bmp'), Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]));
  await assert.rejects(sharp(path.join(dir, 'imgs', 'photo.bmp')).raw().toBuffer(), 'sharp cannot read BMP');
  const warnings: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => (warnings.push(String(s)), true)) as typeof process.stderr.write;
  let size: number;
  try {
    size = imageFolder(path.join(dir, 'imgs')).size;
  } finally {
    process.stderr.write = write;
  }
  assert.equal(size, 16, 'the .bmp is not an item');
  assert.match(warnings.join(''), /skipping 1 image\(s\) of a type that cannot be decoded \(photo\.bmp\)/);

  const png = fs.readFileSync(path.join(dir, 'imgs', 'img003.png'));
  fs.writeFileSync(path.join(dir, 'imgs', 'img003.png'), png.subarray(0, Math.floor(png.length / 2)));
  const out = path.join(dir, 'run');
  await assert.rejects(stage1TrainCommand.run(smallStage1(path.join(dir, 'imgs'), out, 2).slice(2)), /img003\.png/);
  assert.deepEqual(fs.existsSync(out) ? fs.readdirSync(out) : [], [], 'nothing written, the lock released');
  fs.rmSync(dir, { recursive: true });
});
