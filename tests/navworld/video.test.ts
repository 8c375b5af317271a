import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveFfmpeg, ffmpegCandidates, runFfmpeg, writeMp4, writeGif, sideBySide } from '@raev2/navworld';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'navvideo-'));

test('ffmpeg resolution: FFMPEG_PATH first, then the npm builds, then PATH; a missing one is a clear error', () => {
  const bad = { PATH: '/nonexistent', FFMPEG_PATH: '/nonexistent/ffmpeg' };
  assert.throws(() => resolveFfmpeg(bad), /FFMPEG_PATH=\/nonexistent\/ffmpeg is not an executable/);
  const c = ffmpegCandidates({ PATH: '/nonexistent' });
  assert.deepEqual(c.map((x) => x.source), ['FFMPEG_PATH', 'ffmpeg-static', '@ffmpeg-installer/ffmpeg', 'PATH']);
  const installer = c.find((x) => x.source === '@ffmpeg-installer/ffmpeg')!.path;
  assert.ok(installer, '@ffmpeg-installer/ffmpeg is a dependency of navworld');
  assert.equal(resolveFfmpeg({ PATH: '/nonexistent', FFMPEG_PATH: installer }), installer);
});

test('MP4 (H.264) round trip: frames written over a pipe decode back to the same picture (within codec error)', async () => {
  const dir = tmp();
  const w = 32, h = 16, n = 6;
  const frames = Array.from({ length: n }, (_, t) => {
    const f = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) { const o = (y * w + x) * 3; f[o] = x < 16 ? 220 : 30; f[o + 1] = (t * 40) % 256; f[o + 2] = y < 8 ? 200 : 50; }
    return f;
  });
  const file = await writeMp4(path.join(dir, 'v.mp4'), { width: w, height: h, fps: 4, frames });
  const ffmpeg = resolveFfmpeg();
  // the writer doubles the size (nearest) so small frames stay visible in browsers
  const raw = await runFfmpeg(ffmpeg, ['-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
  assert.equal(raw.length, n * (2 * w) * (2 * h) * 3, 'frame count and size');
  const probe = await runFfmpeg(ffmpeg, ['-i', file, '-f', 'null', '-', '-v', 'info']).catch((e) => e);
  void probe;
  // compare frame 3 at the centre of each quadrant
  const W = 2 * w, off = 3 * W * 2 * h * 3;
  const px = (x: number, y: number) => Array.from(raw.subarray(off + (y * W + x) * 3, off + (y * W + x) * 3 + 3));
  const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) < 24);
  assert.ok(close(px(8, 6), [220, 120, 200]), `top-left ${px(8, 6)}`);
  assert.ok(close(px(56, 26), [30, 120, 50]), `bottom-right ${px(56, 26)}`);
  assert.deepEqual(fs.readdirSync(dir), ['v.mp4'], 'no temp file left');
  const gif = await writeGif(path.join(dir, 'v.gif'), { width: w, height: h, fps: 4, frames });
  assert.ok(fs.statSync(gif).size > 100);
  // a truncated video is an error naming ffmpeg's complaint
  fs.writeFileSync(path.join(dir, 'bad.mp4'), fs.readFileSync(file).subarray(0, 200));
  await assert.rejects(runFfmpeg(ffmpeg, ['-i', path.join(dir, 'bad.mp4'), '-f', 'rawvideo', 'pipe:1']), /ffmpeg exited with/);
});

test('sideBySide: [a | gap | b] rows', () => {
  const a = [new Uint8Array(2 * 1 * 3).fill(10)], b = [new Uint8Array(2 * 1 * 3).fill(200)];
  const { frames, width } = sideBySide(a, b, 2, 1, 1);
  assert.equal(width, 5);
  assert.deepEqual(Array.from(frames[0]), [10, 10, 10, 10, 10, 10, 255, 255, 255, 200, 200, 200, 200, 200, 200]);
});
