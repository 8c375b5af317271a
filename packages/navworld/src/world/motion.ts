/**
 * Motion on the map: a disc of radius `AGENT_RADIUS` that never enters a wall (a blocked move slides
 * along the free axis, else stays), and smooth random-walk trajectories sampled at 4 Hz — forward
 * speed and yaw rate follow damped random processes, and the agent turns away from walls it is
 * about to meet.
 */
import { Rng } from '@raev2/core';
import { z } from 'zod';
import { randomFreePose, wallClearance, type GridMap } from './map.js';
import { castRay } from './raycast.js';
import { wrapAngle, type Pose } from './pose.js';

export const AGENT_RADIUS = 0.2;
/** Frames per second of every trajectory. */
export const FPS = 4;

/** Whether a disc of radius r at (x, y) is clear of every wall. */
export function discFree(m: GridMap, x: number, y: number, r = AGENT_RADIUS): boolean {
  return wallClearance(m, x, y) >= r;
}

/**
 * Apply an egocentric motion: rotate by `dyaw`, then move `forward` along the new heading and `left`
 * to its left, with collisions (slide along x or y when the full move is blocked). Returns the new pose.
 */
export function move(m: GridMap, p: Pose, forward: number, left: number, dyaw: number): Pose {
  const yaw = wrapAngle(p.yaw + dyaw);
  const c = Math.cos(yaw), s = Math.sin(yaw);
  const dx = forward * c - left * s, dy = forward * s + left * c;
  // sub-steps keep a fast move from tunnelling through a thin wall
  const n = Math.max(1, Math.ceil(Math.hypot(dx, dy) / (AGENT_RADIUS / 2)));
  let x = p.x, y = p.y;
  for (let k = 0; k < n; k++) {
    const sx = dx / n, sy = dy / n;
    if (discFree(m, x + sx, y + sy)) { x += sx; y += sy; }
    else if (discFree(m, x + sx, y)) x += sx;
    else if (discFree(m, x, y + sy)) y += sy;
  }
  return { x, y, yaw };
}

export const WalkOptionsSchema = z.object({
  /** Frames per trajectory. */
  length: z.number().int().min(2).default(64),
  /** Mean forward speed (m/s). */
  speed: z.number().positive().default(0.8),
  /** Std of the yaw-rate drive (rad/s). */
  turnNoise: z.number().min(0).default(1.2),
  /** Damping of the yaw rate per frame (0: white, → 1: smooth). */
  turnSmooth: z.number().min(0).lt(1).default(0.7),
  /** Start looking for an escape turn when the wall ahead is closer than this (m). */
  lookAhead: z.number().positive().default(1.2),
});
export type WalkOptions = z.input<typeof WalkOptionsSchema>;

/** A trajectory: poses at FPS Hz. */
export interface Trajectory {
  map: number;
  poses: Pose[];
}

/** A smooth random walk on `m` (same map, seed and options → same poses). */
export function randomWalk(m: GridMap, seed: number, options: WalkOptions = {}): Trajectory {
  const o = WalkOptionsSchema.parse(options);
  const rng = new Rng(seed * 104729 + m.seed);
  const dt = 1 / FPS;
  let pose: Pose = randomFreePose(m, rng, AGENT_RADIUS + 0.2);
  const poses: Pose[] = [pose];
  let omega = 0, v = o.speed;
  for (let i = 1; i < o.length; i++) {
    omega = o.turnSmooth * omega + (1 - o.turnSmooth) * o.turnNoise * 2 * rng.normal();
    v = 0.8 * v + 0.2 * o.speed * (0.5 + rng.random());
    // wall avoidance: when the way ahead is short, turn toward the more open side
    const ahead = castRay(m, pose.x, pose.y, Math.cos(pose.yaw), Math.sin(pose.yaw)).distance;
    if (ahead < o.lookAhead) {
      const l = castRay(m, pose.x, pose.y, Math.cos(pose.yaw + 0.8), Math.sin(pose.yaw + 0.8)).distance;
      const r = castRay(m, pose.x, pose.y, Math.cos(pose.yaw - 0.8), Math.sin(pose.yaw - 0.8)).distance;
      omega = (l >= r ? 1 : -1) * Math.max(Math.abs(omega), 2.4);
    }
    const slow = ahead < 0.6 ? 0.2 : 1;
    pose = move(m, pose, v * dt * slow, 0, omega * dt);
    poses.push(pose);
  }
  return { map: m.seed, poses };
}
