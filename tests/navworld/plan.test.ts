import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '@raev2/core';
import { pathErrors, executeActions, executeControls, planWaypoints, topDownMap, turnStrip, cosine, clipFD, latentFD, poolLatent, generateMap, trainingActionBox, trainingControlBox, FPS, type GridMap } from '@raev2/navworld';

const open: GridMap = (() => {
  const w = 30, h = 30, cells = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (x === 0 || y === 0 || x === w - 1 || y === h - 1) cells[y * w + x] = 1;
  return { seed: -1, width: w, height: h, cells, rooms: [], posters: [], posterAt: new Map() };
})();

test('pathErrors: ATE, RPE and final error, float64 hand values', () => {
  const start = { x: 0, y: 0, yaw: 0 };
  const truth = [{ x: 1, y: 0, yaw: 0 }, { x: 2, y: 0, yaw: 0 }];
  const path = [{ x: 1, y: 1, yaw: 0 }, { x: 2, y: 1, yaw: 0 }];
  const e = pathErrors(start, path, truth);
  assert.equal(e.ate, 1); // both 1 m off
  assert.equal(e.rpe, Math.sqrt((1 + 0) / 2)); // first step off by (0, 1), second step exact
  assert.equal(e.final, 1);
  assert.deepEqual(pathErrors(start, truth, truth), { ate: 0, rpe: 0, final: 0 });
  assert.throws(() => pathErrors(start, path.slice(1), truth), /1 poses vs 2/);
});

test('executeActions: normalised actions move the agent as applyAction says in free space, and never through walls', () => {
  const scale = { metricStep: 0.25, bounds: [4, 2] as [number, number] };
  const start = { x: 10, y: 10, yaw: Math.PI / 2 };
  // forward 1 m (0.25·4·1), left 0.25 m (0.25·2·0.5), then turn −0.3
  const [p] = executeActions(open, start, [[1, 0.5, -0.3]], scale);
  assert.ok(Math.abs(p.x - (10 - 0.25)) < 1e-12 && Math.abs(p.y - 11) < 1e-12, `${p.x}, ${p.y}`);
  assert.ok(Math.abs(p.yaw - (Math.PI / 2 - 0.3)) < 1e-12);
  const m = generateMap(4);
  const walls = executeActions(m, { x: m.rooms[0].x + 0.5, y: m.rooms[0].y + 0.5, yaw: Math.PI }, Array(10).fill([1, 0, 0]), scale);
  for (const q of walls) assert.equal(m.cells[Math.floor(q.y) * m.width + Math.floor(q.x)], 0, 'inside a free cell');
});

test('latent metrics: cosine, pooling, FD is 0 for identical sets and grows with a shift; clip FD sees temporal spread', () => {
  assert.ok(Math.abs(cosine([1, 0], [0, 1])) < 1e-12);
  assert.ok(Math.abs(cosine([1, 2], [2, 4]) - 1) < 1e-12);
  assert.deepEqual(Array.from(poolLatent([1, 2, 3, 4], 2)), [2, 3]);
  let seed = 1;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5;
  const set = Array.from({ length: 40 }, () => Float32Array.from({ length: 3 * 4 }, rnd));
  assert.ok(Math.abs(latentFD(set, set, 4)) < 1e-8);
  const shifted = set.map((z) => z.map((v, i) => v + (i % 4 === 0 ? 1 : 0)));
  // a mean shift of 1 in one channel of the pooled features adds exactly 1 to FD (same covariance)
  assert.ok(Math.abs(latentFD(shifted, set, 4) - 1) < 1e-6);
  const clips = Array.from({ length: 20 }, () => Array.from({ length: 4 }, () => Float32Array.from({ length: 2 * 3 }, rnd)));
  const frozen = clips.map((c) => c.map(() => c[0]));
  assert.ok(Math.abs(clipFD(clips, clips, 3)) < 1e-8);
  assert.ok(clipFD(frozen, clips, 3) > 0.01, 'a clip that does not move is told apart');
});

test('--guidance flag: free / cfg / free+cfg / none, bad values named', async () => {
  const { GuidanceFlag } = await import('@raev2/navworld');
  assert.deepEqual(GuidanceFlag.parse(undefined), { method: 'free', freeScale: 1.78, freeInterval: [0.1, 1] });
  assert.deepEqual(GuidanceFlag.parse('cfg:4'), { method: 'cfg', cfgScale: 4 });
  assert.deepEqual(GuidanceFlag.parse('none'), { method: 'none' });
  assert.deepEqual(GuidanceFlag.parse('free+cfg:1.5,3'), { method: 'free+cfg', freeScale: 1.5, freeInterval: [0.1, 1], cfgScale: 3 });
  for (const bad of ['cfg', 'cfg:-1', 'free:x', 'auto:2']) assert.equal(GuidanceFlag.safeParse(bad).success, false, bad);
});

test('trainingActionBox: per-component 2 % / 98 % quantiles (nearest rank) of the normalised actions k frames apart, in each start pose\'s frame (hand values)', () => {
  const scale = { metricStep: 0.2, bounds: [4, 2] as [number, number] };
  const a = [{ x: 0, y: 0, yaw: 0 }, { x: 0.2, y: 0, yaw: 0 }, { x: 0.4, y: 0, yaw: 0.3 }];
  // heading +y: 0.2 m along y is 0.2 m forward; 0.1 m along −x is 0.1 m to the left
  const b = [{ x: 1, y: 1, yaw: Math.PI / 2 }, { x: 0.9, y: 1.2, yaw: Math.PI / 2 - 0.2 }];
  const close = (got: number[], want: number[], what: string) => got.forEach((v, j) => assert.ok(Math.abs(v - want[j]) < 1e-12, `${what}[${j}]: ${v} vs ${want[j]}`));
  const k1 = trainingActionBox([a, b], scale, 1);
  // dx' = dx / 0.2 / 4, dy' = dy / 0.2 / 2: a → (0.25, 0, 0) and (0.25, 0, 0.3); b → (0.25, 0.25, −0.2)
  close(k1.lo, [0.25, 0, -0.2], 'k=1 lo');
  close(k1.hi, [0.25, 0.25, 0.3], 'k=1 hi');
  const k2 = trainingActionBox([a, b], scale, 2);
  close(k2.lo, [0.5, 0, 0.3], 'k=2 lo');
  close(k2.hi, [0.5, 0, 0.3], 'k=2 hi');
  assert.throws(() => trainingActionBox([a, b], scale, 3), /no training pair 3 frames apart/);
  // 101 forward steps of 0.01·i m: quantiles 0.02 / 0.98 are the 3rd smallest and 3rd largest (nearest rank)
  const line = Array.from({ length: 102 }, (_, i) => ({ x: (i * (i + 1)) / 200, y: 0, yaw: 0 }));
  const q = trainingActionBox([line], { metricStep: 0.2, bounds: [10, 2] }, 1); // dx' = dx / 2
  assert.ok(Math.abs(q.lo[0] - 0.03 / 2) < 1e-12 && Math.abs(q.hi[0] - 0.99 / 2) < 1e-12, `${q.lo[0]} ${q.hi[0]}`);
});

test('trainingControlBox: 2 % / 98 % quantiles of the mean speed and yaw rate over stride-frame windows (hand values)', () => {
  assert.equal(FPS, 4);
  // 0.2 m and +0.1 rad per frame → 0.8 m/s, 0.4 rad/s; 0.1 m and −0.2 rad per frame (across ±π) → 0.4 m/s, −0.8 rad/s
  const a = Array.from({ length: 4 }, (_, i) => ({ x: 0.2 * i, y: 0, yaw: 0.1 * i }));
  const b = Array.from({ length: 3 }, (_, i) => ({ x: 5, y: 0.1 * i, yaw: Math.atan2(Math.sin(-3.0 - 0.2 * i), Math.cos(-3.0 - 0.2 * i)) }));
  const box = trainingControlBox([a, b], 2);
  const close = (got: readonly number[], want: number[], what: string) => got.forEach((v, j) => assert.ok(Math.abs(v - want[j]) < 1e-12, `${what}[${j}]: ${v} vs ${want[j]}`));
  close(box.lo, [0.4, -0.8], 'lo');
  close(box.hi, [0.8, 0.4], 'hi');
  assert.throws(() => trainingControlBox([a, b], 4), /no training window of 4 frames/);
});

test('planWaypoints / executeControls: a control turns by ω/FPS then moves v/FPS each frame; the simulator agrees in free space and stops at walls', () => {
  const start = { x: 10, y: 10, yaw: 0 };
  const scale = { metricStep: 0.25, bounds: [4, 2] as [number, number] };
  // v = 1 m/s, ω = π/2 rad/s at 4 Hz: π/8 and 0.25 m per frame
  const [p1, p2] = planWaypoints(start, [[1, Math.PI / 2], [0.5, 0]], 'controls', 2, scale);
  const q = Math.PI / 8;
  const x1 = 10 + 0.25 * (Math.cos(q) + Math.cos(2 * q)), y1 = 10 + 0.25 * (Math.sin(q) + Math.sin(2 * q));
  assert.ok(Math.abs(p1.x - x1) < 1e-12 && Math.abs(p1.y - y1) < 1e-12 && Math.abs(p1.yaw - 2 * q) < 1e-12, JSON.stringify(p1));
  assert.ok(Math.abs(p2.x - (x1 + 0.25 * Math.cos(2 * q))) < 1e-12 && Math.abs(p2.y - (y1 + 0.25 * Math.sin(2 * q))) < 1e-12 && Math.abs(p2.yaw - 2 * q) < 1e-12, JSON.stringify(p2));
  // actions: applied one after the other (as executeActions does in free space)
  const [pa] = planWaypoints(start, [[1, 0.5, -0.3]], 'actions', 4, scale);
  const [ea] = executeActions(open, start, [[1, 0.5, -0.3]], scale);
  assert.ok(Math.abs(pa.x - ea.x) < 1e-12 && Math.abs(pa.y - ea.y) < 1e-12 && pa.yaw === ea.yaw, `${JSON.stringify(pa)} vs ${JSON.stringify(ea)}`);
  const exec = executeControls(open, start, [[1, Math.PI / 2], [0.5, 0]], 2);
  [p1, p2].forEach((p, i) => assert.ok(Math.abs(exec[i].x - p.x) < 1e-12 && Math.abs(exec[i].y - p.y) < 1e-12 && Math.abs(exec[i].yaw - p.yaw) < 1e-12, `waypoint ${i}`));
  const m = generateMap(4);
  const walls = executeControls(m, { x: m.rooms[0].x + 0.5, y: m.rooms[0].y + 0.5, yaw: Math.PI }, Array(10).fill([1, 0.3]), 4);
  for (const w of walls) assert.equal(m.cells[Math.floor(w.y) * m.width + Math.floor(w.x)], 0, 'inside a free cell');
});

test('topDownMap: the whole map, or only the paths\' bounding box plus a margin (clamped to the map), with a heading tick per pose', () => {
  const path = [{ x: 10, y: 10, yaw: 0 }, { x: 11, y: 10.5, yaw: Math.PI / 2 }];
  const whole = topDownMap(open, { true: path }, { scale: 10 });
  assert.match(whole, /viewBox="0\.0 0\.0 300\.0 300\.0"/);
  assert.match(whole, />true<\/text>/);
  const crop = topDownMap(open, { true: path, cem: [{ x: 0.5, y: 10, yaw: 0 }] }, { scale: 10, around: 1, legend: false });
  // x ∈ [0.5 − 1 → 0, 11 + 1], y ∈ [10 − 1, 10.5 + 1]; y up: the top of the view is map y = 11.5 → 300 − 115
  assert.match(crop, /viewBox="0\.0 185\.0 120\.0 25\.0"/);
  assert.doesNotMatch(crop, /<text/);
  // the second pose's tick points up the page (yaw π/2, y up): from (110, 195) to (110, 192.5)
  assert.match(crop, /<line x1="110\.0" y1="195\.0" x2="110\.0" y2="192\.5"/);
  // walls drawn only inside the crop: the border cells at x = 0 for rows 9…11
  assert.equal((crop.match(/fill="#777"/g) ?? []).length, 3);
});

test('turnStrip: per context its predictions (left, straight, right) then its true frames, one context per row, labelled', () => {
  // image value = 10·(action) + context row, + 100 for the true frames
  const mk = (base: number) => [0, 1, 2].map((a) => tf.tidy(() => tf.tensor1d([0, 1, 2].map((r) => base + 10 * a + r)).reshape([3, 1, 1, 1]).tile([1, 2, 2, 3])));
  const pred = mk(0), truth = mk(100);
  const before = tf.memory().numTensors;
  const { images, labels, cols } = turnStrip(pred, truth, ['left', 'straight', 'right'], 2);
  assert.deepEqual(images.shape, [12, 2, 2, 3]);
  assert.equal(cols, 6, 'one context per row of the strip');
  const firstPixel = Array.from({ length: 12 }, (_, i) => images.dataSync()[i * 12]);
  assert.deepEqual(firstPixel, [0, 10, 20, 100, 110, 120, 1, 11, 21, 101, 111, 121]);
  assert.deepEqual(labels, ['pred left', 'pred straight', 'pred right', 'true left', 'true straight', 'true right', 'pred left', 'pred straight', 'pred right', 'true left', 'true straight', 'true right']);
  images.dispose();
  assert.equal(tf.memory().numTensors, before, 'inputs kept, nothing leaked');
  tf.dispose([...pred, ...truth]);
});
