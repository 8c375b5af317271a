/**
 * Continuous pose of the agent on the map: position (x, y) in metres (one grid cell = 1 m; x east,
 * y north, cell (i, j) covers [i, i+1) × [j, j+1)) and heading `yaw` in radians, counter-clockwise
 * from +x, always kept in (−π, π].
 */

export interface Pose {
  x: number;
  y: number;
  yaw: number;
}

/** Wrap an angle to (−π, π]. */
export function wrapAngle(a: number): number {
  if (!Number.isFinite(a)) throw new Error(`wrapAngle: angle ${a} is not finite`);
  let r = a % (2 * Math.PI); // (−2π, 2π)
  if (r <= -Math.PI) r += 2 * Math.PI;
  else if (r > Math.PI) r -= 2 * Math.PI;
  return r;
}

/** Unit heading vector (cos yaw, sin yaw) and the camera's right vector (sin yaw, −cos yaw). */
export function headingVectors(yaw: number): { dir: [number, number]; right: [number, number] } {
  const c = Math.cos(yaw), s = Math.sin(yaw);
  return { dir: [c, s], right: [s, -c] };
}
