import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relativePose, actionBetween, applyAction, measureActionScale, timeOffsetValue } from '@raev2/navworld';

const close = (a: number, b: number, tol = 1e-12, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);

test('relativePose: the target in the last context frame (forward, left, dyaw), float64 hand values', () => {
  // facing north (yaw π/2): a target 1 m north is 1 m forward; 1 m west is 1 m to the left
  let r = relativePose({ x: 1, y: 2, yaw: Math.PI / 2 }, { x: 1, y: 3, yaw: Math.PI / 2 + 0.3 });
  close(r.dx, 1, 1e-15, 'dx'); close(r.dy, 0, 1e-15, 'dy'); close(r.dyaw, 0.3, 1e-15, 'dyaw');
  r = relativePose({ x: 1, y: 2, yaw: Math.PI / 2 }, { x: 0, y: 2, yaw: Math.PI / 2 });
  close(r.dx, 0, 1e-15); close(r.dy, 1, 1e-15);
  // yaw 30°, target at (3, 4) from (0, 0): forward = 3cos30 + 4sin30, left = −3sin30 + 4cos30
  r = relativePose({ x: 0, y: 0, yaw: Math.PI / 6 }, { x: 3, y: 4, yaw: -3.0 });
  close(r.dx, 3 * Math.sqrt(3) / 2 + 2); close(r.dy, -1.5 + 2 * Math.sqrt(3));
  // dyaw wraps: −3.0 − π/6 = −3.5236 → +2.7596
  close(r.dyaw, -3.0 - Math.PI / 6 + 2 * Math.PI, 1e-15, 'wrapped dyaw');
  // across the ±π seam: 3.1 → −3.1 is a turn of +0.0832, not −6.2
  close(relativePose({ x: 0, y: 0, yaw: 3.1 }, { x: 0, y: 0, yaw: -3.1 }).dyaw, 2 * Math.PI - 6.2, 1e-15);
});

test('actionBetween: divided by the metric step, scaled by symmetric bounds, clipped; applyAction inverts it', () => {
  const scale = { metricStep: 0.2, bounds: [8, 4] as [number, number] };
  const from = { x: 2, y: -1, yaw: -Math.PI / 4 };
  // 0.8 m forward along −45°, 0.4 m to its left (+45°)
  const c = Math.SQRT1_2;
  const to = { x: 2 + 0.8 * c - 0.4 * -c, y: -1 + 0.8 * -c + 0.4 * c, yaw: 0.1 };
  const a = actionBetween(from, to, scale);
  close(a[0], 0.8 / 0.2 / 8, 1e-12, 'dx');
  close(a[1], 0.4 / 0.2 / 4, 1e-12, 'dy');
  close(a[2], 0.1 + Math.PI / 4, 1e-15, 'dyaw');
  const back = applyAction(from, a, scale);
  close(back.x, to.x); close(back.y, to.y); close(back.yaw, to.yaw, 1e-15);
  // beyond the bounds: clipped to ±1
  const far = actionBetween(from, { x: from.x - 10 * c, y: from.y + 10 * c, yaw: 0 }, scale); // 10 m backwards
  assert.equal(far[0], -1);
});

test('measureActionScale: max |dx|, |dy| over pairs up to k frames, in metric steps', () => {
  // straight east at 0.25 m/frame, then one step north
  const poses = [0, 1, 2, 3].map((i) => ({ x: 0.25 * i, y: 0, yaw: 0 }));
  poses.push({ x: 0.75, y: 0.5, yaw: 0 });
  const s = measureActionScale([poses], 0.25, 2);
  // largest forward over k ≤ 2: 0.5 m = 2 steps; largest left: 0.5 m (3 → 4) = 2 steps
  close(s.bounds[0], 2); close(s.bounds[1], 2);
  const s8 = measureActionScale([poses], 0.25, 8);
  close(s8.bounds[0], 3); close(s8.bounds[1], 2);
  assert.equal(s8.metricStep, 0.25);
});

test('timeOffsetValue: k/128 for integer k ≥ 1', () => {
  assert.equal(timeOffsetValue(1), 1 / 128);
  assert.equal(timeOffsetValue(8), 0.0625);
  assert.throws(() => timeOffsetValue(0), /≥ 1/);
  assert.throws(() => timeOffsetValue(1.5), /integer/);
});
