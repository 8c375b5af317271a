import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateMap, randomWalk, renderFrame, move, wrapAngle, focalLength, AGENT_RADIUS, posterKey, loadPosters, type GridMap } from '@raev2/navworld';

/** A w×h map with free interior and a wall border (texture 1). */
function boxMap(w: number, h: number): GridMap {
  const cells = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (x === 0 || y === 0 || x === w - 1 || y === h - 1) cells[y * w + x] = 1;
  return { seed: -1, width: w, height: h, cells, rooms: [], posters: [], posterAt: new Map() };
}

/** Rows of column c that differ between two RGB frames of side s. */
function differingRows(a: Uint8Array, b: Uint8Array, s: number, c: number): number[] {
  const rows: number[] = [];
  for (let r = 0; r < s; r++) {
    const o = (r * s + c) * 3;
    if (a[o] !== b[o] || a[o + 1] !== b[o + 1] || a[o + 2] !== b[o + 2]) rows.push(r);
  }
  return rows;
}

test('raycaster: a 1 m wall at distance d fills f·1/d rows of the centre column (pinhole ground truth)', () => {
  const size = 96, f = 48; // 90° fov: f = (96/2)/tan(45°) = 48
  assert.ok(Math.abs(focalLength({ size }) - f) < 1e-9);
  for (const d of [1, 2, 3, 4]) {
        // a 1-cell corridor whose end wall face is at x = 9, the camera at x = 9 − d facing +x
    const near = boxMap(10, 3);
    const far = boxMap(400, 3); // the same corridor with the end wall ~390 m away (< 0.2 px)
    const pose = { x: 9 - d, y: 1.5, yaw: 0 };
    const a = renderFrame(near, pose, { size }, null), b = renderFrame(far, pose, { size }, null);
    const rows = differingRows(a, b, size, size / 2);
    const expected = (f * 1) / d; // pinhole: height 1 m at d m → f/d px, centred on the horizon
    assert.equal(rows.length, Math.round(expected), `d = ${d}: ${rows.length} rows`);
    assert.equal(rows[0], size / 2 - expected / 2, `d = ${d}: top row`);
    assert.deepEqual(rows, Array.from({ length: rows.length }, (_, i) => rows[0] + i), 'contiguous');
  }
});

test('raycaster: the view turns with yaw (a wall on the left appears in the left half)', () => {
  const m = boxMap(40, 40);
  m.cells[20 * 40 + 25] = 2; // a single brick pillar east of the agent
  const size = 64;
  const open = boxMap(40, 40);
  const at = (yaw: number) => {
    const a = renderFrame(m, { x: 20.5, y: 20.5, yaw }, { size }, null), b = renderFrame(open, { x: 20.5, y: 20.5, yaw }, { size }, null);
    const cols: number[] = [];
    for (let c = 0; c < size; c++) if (differingRows(a, b, size, c).length > 0) cols.push(c);
    return cols;
  };
  const ahead = at(0), left = at(-Math.PI / 6), right = at(Math.PI / 6);
  const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
  assert.ok(Math.abs(mean(ahead) - size / 2) < 2, `ahead ${mean(ahead)}`);
  // turning right (negative yaw) puts the pillar to the left of the image centre, and vice versa
  assert.ok(mean(left) < size / 2 - 5, `yaw −30°: pillar at ${mean(left)}`);
  assert.ok(mean(right) > size / 2 + 5, `yaw +30°: pillar at ${mean(right)}`);
  // ground truth: the pillar centre (25.5, 20.5) is 5 m ahead; at yaw +30° its bearing is −30° → column W/2 + f·tan(30°)
  const f = focalLength({ size });
  assert.ok(Math.abs(mean(right) - (size / 2 + f * Math.tan(Math.PI / 6))) < 3, `bearing: ${mean(right)}`);
});

test('wrapAngle: (−π, π] with float64 hand values', () => {
  assert.equal(wrapAngle(Math.PI), Math.PI);
  assert.equal(wrapAngle(-Math.PI), Math.PI);
  assert.ok(Math.abs(wrapAngle(1.5 * Math.PI) - -0.5 * Math.PI) < 1e-15);
  assert.ok(Math.abs(wrapAngle(-3.5 * Math.PI) - 0.5 * Math.PI) < 1e-14);
  assert.ok(Math.abs(wrapAngle(7) - (7 - 2 * Math.PI)) < 1e-15);
  assert.equal(wrapAngle(0.25), 0.25);
  for (let a = -20; a <= 20; a += 0.37) {
    const w = wrapAngle(a);
    assert.ok(w > -Math.PI && w <= Math.PI);
    assert.ok(Math.abs(Math.sin(w) - Math.sin(a)) < 1e-12 && Math.abs(Math.cos(w) - Math.cos(a)) < 1e-12);
  }
  assert.throws(() => wrapAngle(NaN), /not finite/);
});

/** Brute-force distance from (x, y) to the nearest wall cell of the whole map. */
function bruteClearance(m: GridMap, x: number, y: number): number {
  let best = Infinity;
  for (let j = 0; j < m.height; j++) for (let i = 0; i < m.width; i++) {
    if (m.cells[j * m.width + i] === 0) continue;
    const dx = Math.max(i - x, 0, x - (i + 1)), dy = Math.max(j - y, 0, y - (j + 1));
    best = Math.min(best, Math.hypot(dx, dy));
  }
  return best;
}

test('collisions: random walks and pushes into walls never bring the agent closer than its radius', () => {
  for (const seed of [0, 1, 2]) {
    const m = generateMap(seed);
    const tr = randomWalk(m, 0, { length: 200 });
    for (const [i, p] of tr.poses.entries()) assert.ok(bruteClearance(m, p.x, p.y) >= AGENT_RADIUS - 1e-9, `map ${seed} frame ${i}: clearance ${bruteClearance(m, p.x, p.y)}`);
    // push straight ahead 60 times by 0.5 m: must stop at a wall, sliding at most
    let p = tr.poses[0];
    for (let k = 0; k < 60; k++) {
      p = move(m, p, 0.5, 0.1, 0.05);
      assert.ok(bruteClearance(m, p.x, p.y) >= AGENT_RADIUS - 1e-9, `map ${seed} push ${k}`);
    }
  }
});

test('trajectories: 4 Hz smooth walks (bounded speed and turn per frame), actually moving', () => {
  const m = generateMap(5);
  const tr = randomWalk(m, 3, { length: 120 });
  let dist = 0;
  for (let i = 1; i < tr.poses.length; i++) {
    const a = tr.poses[i - 1], b = tr.poses[i];
    const step = Math.hypot(b.x - a.x, b.y - a.y);
    dist += step;
    assert.ok(step <= 0.8 * 1.5 / 4 + 1e-9, `frame ${i}: step ${step} m`);
    assert.ok(Math.abs(wrapAngle(b.yaw - a.yaw)) < 1.5, `frame ${i}: turn ${b.yaw - a.yaw}`);
  }
  assert.ok(dist > 5, `walked only ${dist} m in 30 s`);
});

test('same seed → same map and frames; another seed → other frames; posters load and show', async () => {
  const posters = await loadPosters();
  assert.equal(posters.images.length, 48);
  const a = generateMap(7), b = generateMap(7), c = generateMap(8);
  assert.deepEqual(a.cells, b.cells);
  assert.deepEqual(a.posters, b.posters);
  assert.notDeepEqual(a.cells, c.cells);
  const ta = randomWalk(a, 1, { length: 10 }), tb = randomWalk(b, 1, { length: 10 });
  assert.deepEqual(ta.poses, tb.poses);
  const fa = renderFrame(a, ta.poses[9], { size: 48 }, posters), fb = renderFrame(b, tb.poses[9], { size: 48 }, posters);
  assert.deepEqual(fa, fb);
  // a poster seen head-on changes the pixels of its wall
  const p = a.posters[0];
  const side = { W: [-1, 0], E: [1, 0], S: [0, -1], N: [0, 1] }[p.side];
  const pose = { x: p.cx + 0.5 + side[0] * 0.9, y: p.cy + 0.5 + side[1] * 0.9, yaw: Math.atan2(-side[1], -side[0]) };
  const withPoster = renderFrame(a, pose, { size: 48 }, posters);
  const none = { ...a, posterAt: new Map() };
  const without = renderFrame(none, pose, { size: 48 }, posters);
  assert.ok(a.posterAt.get(posterKey(p.cx, p.cy, p.side)) === 0);
  let diff = 0;
  for (let i = 0; i < withPoster.length; i++) diff += withPoster[i] !== without[i] ? 1 : 0;
  assert.ok(diff > 48 * 48 * 3 * 0.1, `poster covers only ${diff} values`);
});

test('raycaster speed: thousands of frames per minute at 96 px', () => {
  const m = generateMap(1);
  const tr = randomWalk(m, 0, { length: 100 });
  const t0 = performance.now();
  const buf = new Uint8Array(96 * 96 * 3);
  for (const p of tr.poses) renderFrame(m, p, { size: 96 }, null, buf);
  const perMin = (tr.poses.length / (performance.now() - t0)) * 60000;
  assert.ok(perMin > 3000, `${perMin.toFixed(0)} frames/min`);
});
