import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTrajDataPickle, readTrajectoryFolder } from '@raev2/navworld';

// Fixtures written by Python 3.11 + numpy 2.4 (pickle.dump of {'position': …, 'yaw': …}):
//   traj_data_np.pkl       protocol 4, float64 arrays [5, 2] and [5]
//   traj_data_np_p2.pkl    protocol 2, float32 position array (bytes via _codecs.encode), yaw list
//   traj_data_list_p5.pkl  protocol 5, nested lists
//   evil.pkl               protocol 4, yaw = an object whose __reduce__ calls os.system
const fx = (f: string) => path.join(import.meta.dirname, 'fixtures', f);
const POS = [[0, 0], [0.25, 0], [0.5, 0.1], [0.75, 0.3], [1.0, 0.6]];
const YAW = [0, 0.1, 0.3, 0.6, 1.0];

test('traj_data.pkl: numpy arrays (protocols 2 and 4) and lists (protocol 5) read to the same poses', () => {
  for (const [f, tol] of [['traj_data_np.pkl', 0], ['traj_data_list_p5.pkl', 0], ['traj_data_np_p2.pkl', 1e-7]] as const) {
    const d = readTrajDataPickle(fx(f));
    assert.equal(d.position.length, 5, f);
    d.position.forEach(([x, y], i) => assert.ok(Math.abs(x - POS[i][0]) <= tol && Math.abs(y - POS[i][1]) <= tol, `${f} position ${i}`));
    d.yaw.forEach((v, i) => assert.ok(Math.abs(v - YAW[i]) <= tol, `${f} yaw ${i}`));
  }
});

test('traj_data.pkl: anything but data is refused (never executed); truncation is named', () => {
  assert.throws(() => readTrajDataPickle(fx('evil.pkl')), /refusing pickle global (posix|os)\.system/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'navpkl-'));
  const cut = path.join(dir, 'cut.pkl');
  fs.writeFileSync(cut, fs.readFileSync(fx('traj_data_np.pkl')).subarray(0, 150));
  assert.throws(() => readTrajDataPickle(cut), /cut\.pkl: (truncated pickle|malformed)/);
});

test('NWM folder with traj_data.pkl: frames paired with the pickled poses', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'navpkl-'));
  fs.copyFileSync(fx('traj_data_np.pkl'), path.join(dir, 'traj_data.pkl'));
  for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(dir, `${i}.jpg`), '');
  const r = readTrajectoryFolder(dir, 5);
  assert.equal(r.frames.length, 5);
  assert.deepEqual(r.poses[2], { x: 0.5, y: 0.1, yaw: 0.3 });
  fs.rmSync(path.join(dir, '4.jpg'));
  assert.throws(() => readTrajectoryFolder(dir), /4 frames but 5 poses in .*traj_data\.pkl/);
});
