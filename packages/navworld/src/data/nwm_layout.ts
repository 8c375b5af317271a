/**
 * The NWM trajectory layout: one folder per trajectory holding numbered frames `0.jpg`, `1.jpg`, …
 * (or .png) and `traj_data` with `position` [[x, y], …] (m) and `yaw` [ψ, …] (rad), as JSON
 * (`traj_data.json`) or a Python pickle (`traj_data.pkl`, read by the parse-only reader). Readers
 * validate everything and name the file and frame that is wrong.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import sharp from 'sharp';
import { writeFileAtomic } from '@raev2/core';
import type { Pose } from '../world/pose.js';
import { readTrajDataPickle } from './pickle.js';

export const TrajDataSchema = z.object({
  position: z.array(z.tuple([z.number(), z.number()])).min(1),
  yaw: z.array(z.number()).min(1),
}).loose();
export type TrajData = z.infer<typeof TrajDataSchema>;

/** Write one trajectory folder: frames (RGB bytes [size, size, 3]) and traj_data.json; atomic per file. */
export async function writeTrajectoryFolder(dir: string, frames: readonly Uint8Array[], poses: readonly Pose[], size: number, format: 'png' | 'jpg' = 'png'): Promise<void> {
  if (frames.length !== poses.length) throw new Error(`${dir}: ${frames.length} frames but ${poses.length} poses`);
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < frames.length; i++) {
    const img = sharp(Buffer.from(frames[i]), { raw: { width: size, height: size, channels: 3 } });
    const buf = format === 'png' ? await img.png().toBuffer() : await img.jpeg({ quality: 95 }).toBuffer();
    writeFileAtomic(path.join(dir, `${i}.${format}`), buf);
  }
  const data: TrajData = { position: poses.map((p) => [p.x, p.y]), yaw: poses.map((p) => p.yaw) };
  writeFileAtomic(path.join(dir, 'traj_data.json'), JSON.stringify(data));
}

/** Validate traj_data: equal lengths, finite values; errors name the file and the index. */
export function checkTrajData(data: unknown, file: string): Pose[] {
  const r = TrajDataSchema.safeParse(data);
  if (!r.success) throw new Error(`${file}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')} (expected {position: [[x, y], …], yaw: [ψ, …]})`);
  const { position, yaw } = r.data;
  if (position.length !== yaw.length) throw new Error(`${file}: ${position.length} positions but ${yaw.length} yaws`);
  return position.map(([x, y], i) => {
    if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(yaw[i])) throw new Error(`${file}: pose of frame ${i} is not finite (x ${x}, y ${y}, yaw ${yaw[i]})`);
    return { x, y, yaw: yaw[i] };
  });
}

/** Frame files of a trajectory folder in index order (`<i>.jpg|jpeg|png`), checking 0…n−1 are all there. */
export function listFrames(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    throw new Error(`cannot read trajectory folder ${dir}: ${(e as Error).message}`);
  }
  const byIndex = new Map<number, string>();
  for (const n of names) {
    const m = /^(\d+)\.(jpe?g|png)$/i.exec(n);
    if (m) byIndex.set(Number(m[1]), n);
  }
  const out: string[] = [];
  for (let i = 0; i < byIndex.size; i++) {
    const n = byIndex.get(i);
    if (n == null) throw new Error(`${dir}: frame ${i} is missing (frames must be numbered 0…${byIndex.size - 1})`);
    out.push(path.join(dir, n));
  }
  return out;
}

/** Read a trajectory folder's poses (traj_data.json, else traj_data.pkl) and frame list; the counts must agree. */
export function readTrajectoryFolder(dir: string, minFrames = 1): { frames: string[]; poses: Pose[] } {
  let json = path.join(dir, 'traj_data.json');
  let raw: unknown;
  if (fs.existsSync(json)) {
    try {
      raw = JSON.parse(fs.readFileSync(json, 'utf8'));
    } catch (e) {
      throw new Error(`${json}: not valid JSON (${(e as Error).message})`);
    }
  } else if (fs.existsSync(path.join(dir, 'traj_data.pkl'))) {
    json = path.join(dir, 'traj_data.pkl');
    raw = readTrajDataPickle(json);
  } else throw new Error(`${dir}: no traj_data.json or traj_data.pkl`);
  const poses = checkTrajData(raw, json);
  const frames = listFrames(dir);
  if (frames.length !== poses.length) throw new Error(`${dir}: ${frames.length} frames but ${poses.length} poses in ${json}`);
  if (frames.length < minFrames) throw new Error(`${dir}: ${frames.length} frames, shorter than the ${minFrames} a sample needs (context + target)`);
  return { frames, poses };
}
