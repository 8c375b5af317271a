/**
 * Navigation actions (docs/method.md, navigation world model): the target pose relative to the last
 * context frame — (dx, dy) rotated into that frame's heading (dx forward, dy to the left), divided by
 * the metric waypoint spacing and scaled to [−1, 1] by symmetric bounds measured on the training
 * data — and dyaw wrapped to (−π, π] in radians. The time offset k ∈ [1, K] frames is embedded as k/128.
 */
import { z } from 'zod';
import { wrapAngle, type Pose } from './world/pose.js';

/** Action normalisation, stored with a model (measured once on the training trajectories). */
export const ActionScaleSchema = z.object({
  /** Metric waypoint spacing (m per frame). */
  metricStep: z.number().positive(),
  /** Symmetric bounds of (dx, dy) / metricStep over the training pairs. */
  bounds: z.tuple([z.number().positive(), z.number().positive()]),
}).strict();
export type ActionScale = z.infer<typeof ActionScaleSchema>;

/** The largest time offset (frames) a model is trained on by default. */
export const MAX_OFFSET = 8;

/** Target pose `to` in the frame of `from`: forward dx, left dy (m) and dyaw ∈ (−π, π]. */
export function relativePose(from: Pose, to: Pose): { dx: number; dy: number; dyaw: number } {
  const ex = to.x - from.x, ey = to.y - from.y;
  const c = Math.cos(from.yaw), s = Math.sin(from.yaw);
  return { dx: c * ex + s * ey, dy: -s * ex + c * ey, dyaw: wrapAngle(to.yaw - from.yaw) };
}

/** Normalised action [dx', dy', dyaw] of `to` relative to `from` (dx', dy' clipped to [−1, 1]). */
export function actionBetween(from: Pose, to: Pose, scale: ActionScale): [number, number, number] {
  const r = relativePose(from, to);
  const clip = (v: number) => Math.max(-1, Math.min(1, v));
  return [clip(r.dx / scale.metricStep / scale.bounds[0]), clip(r.dy / scale.metricStep / scale.bounds[1]), r.dyaw];
}

/** The pose reached from `from` by a normalised action (inverse of actionBetween within the bounds). */
export function applyAction(from: Pose, a: readonly [number, number, number] | readonly number[], scale: ActionScale): Pose {
  const dx = a[0] * scale.bounds[0] * scale.metricStep, dy = a[1] * scale.bounds[1] * scale.metricStep;
  const c = Math.cos(from.yaw), s = Math.sin(from.yaw);
  return { x: from.x + c * dx - s * dy, y: from.y + s * dx + c * dy, yaw: wrapAngle(from.yaw + a[2]) };
}

/**
 * Symmetric bounds max |dx| / metricStep and max |dy| / metricStep over every pair (i, i + k),
 * 1 ≤ k ≤ maxOffset, of the trajectories (a floor of 1e-3 keeps a still dataset finite).
 */
export function measureActionScale(trajectories: readonly (readonly Pose[])[], metricStep: number, maxOffset = MAX_OFFSET): ActionScale {
  let bx = 1e-3, by = 1e-3;
  for (const poses of trajectories) {
    for (let i = 0; i < poses.length; i++) {
      for (let k = 1; k <= maxOffset && i + k < poses.length; k++) {
        const r = relativePose(poses[i], poses[i + k]);
        bx = Math.max(bx, Math.abs(r.dx) / metricStep);
        by = Math.max(by, Math.abs(r.dy) / metricStep);
      }
    }
  }
  return { metricStep, bounds: [bx, by] };
}

/** The time-offset scalar of a target k frames ahead: k/128. */
export function timeOffsetValue(k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new Error(`time offset k must be an integer ≥ 1, got ${k}`);
  return k / 128;
}
