import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { writeTrajectoryFolder, readTrajectoryFolder, generateMap, randomWalk, renderFrame } from '@raev2/navworld';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'navworld-'));

test('NWM layout: frames + traj_data.json round-trip (lossless png frames, exact poses)', async () => {
  const dir = path.join(tmp(), 'traj');
  const m = generateMap(2);
  const tr = randomWalk(m, 0, { length: 5 });
  const frames = tr.poses.map((p) => renderFrame(m, p, { size: 32 }, null));
  await writeTrajectoryFolder(dir, frames, tr.poses, 32);
  const back = readTrajectoryFolder(dir, 5);
  assert.deepEqual(back.poses, tr.poses);
  assert.deepEqual(back.frames.map((f) => path.basename(f)), ['0.png', '1.png', '2.png', '3.png', '4.png']);
  const { data } = await sharp(back.frames[3]).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual(new Uint8Array(data), frames[3]);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.tmp')), [], 'no temp files left');
});

test('NWM layout: bad input is named (NaN pose, count mismatch, missing frame, too short)', async () => {
  const dir = path.join(tmp(), 'bad');
  const m = generateMap(2);
  const tr = randomWalk(m, 0, { length: 4 });
  await writeTrajectoryFolder(dir, tr.poses.map((p) => renderFrame(m, p, { size: 16 }, null)), tr.poses, 16);
  const json = path.join(dir, 'traj_data.json');
  const good = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.throws(() => readTrajectoryFolder(dir, 6), /4 frames, shorter than the 6/);
  fs.writeFileSync(json, JSON.stringify({ ...good, yaw: [0, 0, 0] }));
  assert.throws(() => readTrajectoryFolder(dir), /4 positions but 3 yaws/);
  fs.writeFileSync(json, JSON.stringify({ position: [[0, 0], [1, 1], [2, 2]], yaw: [0, 0, 0] }));
  assert.throws(() => readTrajectoryFolder(dir), /4 frames but 3 poses/);
  fs.writeFileSync(json, JSON.stringify({ ...good, position: [[0, 0], [1, null], [2, 2], [3, 3]] }));
  assert.throws(() => readTrajectoryFolder(dir), /traj_data\.json: position\.1\.1/);
  fs.writeFileSync(json, JSON.stringify(good).replace('"yaw":[', '"yaw":[1e999,'));
  assert.throws(() => readTrajectoryFolder(dir), /traj_data\.json: yaw\.0: .*Infinity/);
  fs.writeFileSync(json, JSON.stringify(good));
  fs.rmSync(path.join(dir, '2.png'));
  assert.throws(() => readTrajectoryFolder(dir), /frame 2 is missing/);
});
