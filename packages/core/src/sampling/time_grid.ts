/**
 * The sampling time grid from t = 1 (noise) to 0 (data), as float32 values.
 *  - RAEv2: t_i = shift(u_i), u = linspace(1, 0, N + 1)  (N steps)
 *  - RAE v1 (torchdiffeq fixed grid): t_i = shift(1 − linspace(0, 1 − 1/1000, N))  (N points, N − 1 steps)
 */
import { shiftTime } from '../transport/time.js';

/** torch.linspace(start, end, n) as numbers. */
export function linspace(start: number, end: number, n: number): number[] {
  if (n === 1) return [start];
  const step = (end - start) / (n - 1);
  // torch fills the second half from the end, so both end points are exact
  return Array.from({ length: n }, (_, i) => (i < n / 2 ? start + step * i : end - step * (n - 1 - i)));
}

/** RAEv2 grid: N + 1 times, shift(linspace(1, 0, N + 1)). */
export function flowGrid(steps: number, shift = 1): Float32Array {
  if (!(Number.isInteger(steps) && steps >= 1)) throw new Error(`number of sampling steps must be a positive integer, got ${steps}`);
  return Float32Array.from(linspace(1, 0, steps + 1), (u) => shiftTime(u, shift));
}

/** RAE v1 grid: N points, shift(1 − linspace(0, tMax, N)), tMax = 1 − 1/1000. */
export function raeGrid(points: number, shift = 1, tMax = 1 - 1 / 1000): Float32Array {
  if (!(Number.isInteger(points) && points >= 2)) throw new Error(`the RAE grid needs at least 2 points, got ${points}`);
  return Float32Array.from(linspace(0, tMax, points), (u) => shiftTime(1 - u, shift));
}
