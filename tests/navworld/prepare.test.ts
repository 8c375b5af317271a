import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importVideo, readTrajectoryFolder, writeMp4, generateMap, randomWalk, renderFrame } from '@raev2/navworld';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'navprep-'));

async function makeWalk(dir: string, n: number) {
  const m = generateMap(3);
  const tr = randomWalk(m, 0, { length: n });
  // the writer doubles the frame size; 4 fps
  await writeMp4(path.join(dir, 'walk.mp4'), { width: 48, height: 48, fps: 4, frames: tr.poses.map((p) => renderFrame(m, p, { size: 48 }, null)) });
  const csv = ['t,x,y,yaw', ...tr.poses.map((p, i) => `${(i / 4).toFixed(3)},${p.x},${p.y},${p.yaw}`)];
  fs.writeFileSync(path.join(dir, 'poses.csv'), csv.join('\n') + '\n');
  return { tr, csv };
}

test('prepare: video + poses → NWM folder with one frame per pose; bad input is named and nothing is written', async () => {
  const dir = tmp();
  const { tr, csv } = await makeWalk(dir, 8);
  const base = { video: path.join(dir, 'walk.mp4'), poses: path.join(dir, 'poses.csv'), fps: 4, size: 32, minFrames: 5 };
  const r = await importVideo({ ...base, out: path.join(dir, 'traj') });
  assert.equal(r.frames, 8);
  const back = readTrajectoryFolder(path.join(dir, 'traj'), 5);
  assert.equal(back.frames.length, 8);
  back.poses.forEach((p, i) => { assert.ok(Math.abs(p.x - tr.poses[i].x) < 1e-9 && Math.abs(p.yaw - tr.poses[i].yaw) < 1e-9); });
  await assert.rejects(importVideo({ ...base, out: path.join(dir, 'traj') }), /already exists/);

  const bad = async (poses: string[], re: RegExp, extra: Partial<typeof base> = {}) => {
    const f = path.join(dir, `p${Math.random()}.csv`);
    fs.writeFileSync(f, poses.join('\n') + '\n');
    const out = path.join(dir, `t${Math.random()}`);
    await assert.rejects(importVideo({ ...base, poses: f, out, ...extra }), re);
    assert.equal(fs.existsSync(out), false, 'nothing half-written');
    assert.deepEqual(fs.readdirSync(dir).filter((x) => x.includes('.tmp-')), []);
  };
  await bad(csv.slice(0, 7), /6 poses but .*walk\.mp4 has 8 frames at 4 fps \(no pose for frame 6\)/);
  await bad([...csv, '2.000,1,1,0'], /walk\.mp4: 8 frames at 4 fps but .* has 9 poses \(frame 8 is missing from the video/);
  await bad(csv.map((l, i) => (i === 4 ? l.replace(/^[^,]*,[^,]*/, '0.750,NaN') : l)), /:5 \(frame 3\): x: NaN is not a finite number/);
  await bad(csv.map((l, i) => (i === 6 ? l.replace(/^[^,]*/, '9.0') : l)), /frame 5 has t = 9, expected 1\.250/);
  await bad(csv, /8 frames, shorter than the 9/, { minFrames: 9 });
  // a truncated video
  const cut = path.join(dir, 'cut.mp4');
  fs.writeFileSync(cut, fs.readFileSync(base.video).subarray(0, 300));
  await assert.rejects(importVideo({ ...base, video: cut, out: path.join(dir, 'tc') }), /cannot decode video .*cut\.mp4|cut\.mp4: (no frames|.* frames at 4 fps but)/);
  assert.equal(fs.existsSync(path.join(dir, 'tc')), false);
});
