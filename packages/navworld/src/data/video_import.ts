/**
 * A walk video + its poses → one NWM trajectory folder. ffmpeg samples the video at `fps`
 * (centre-cropped and scaled to size × size, raw rgb24 over a pipe); poses come from a CSV with a
 * header `t,x,y,yaw` (seconds, metres, radians), one row per frame at t = i/fps. Every problem is
 * named by file and frame/line, and the folder appears only complete (written beside, then renamed).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { resolveFfmpeg, runFfmpeg } from '../video/ffmpeg.js';
import { writeTrajectoryFolder } from './nwm_layout.js';
import type { Pose } from '../world/pose.js';

const Row = z.object({ t: z.number().finite(), x: z.number().finite(), y: z.number().finite(), yaw: z.number().finite() });

/** Parse a poses CSV (header t,x,y,yaw in any order); errors name the file, line and frame. */
export function readPosesCsv(file: string): { t: number; pose: Pose }[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read poses ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const lines = text.split(/\r?\n/).map((l, i) => ({ l: l.trim(), line: i + 1 })).filter((x) => x.l !== '');
  if (lines.length < 2) throw new Error(`${file}: needs a header t,x,y,yaw and at least one row`);
  const head = lines[0].l.split(',').map((s) => s.trim().toLowerCase());
  const col = Object.fromEntries(['t', 'x', 'y', 'yaw'].map((k) => [k, head.indexOf(k)]));
  const missing = Object.entries(col).filter(([, i]) => i < 0).map(([k]) => k);
  if (missing.length) throw new Error(`${file}:1: header lacks ${missing.join(', ')} (expected t,x,y,yaw)`);
  return lines.slice(1).map(({ l, line }, frame) => {
    const cells = l.split(',');
    const raw = Object.fromEntries(Object.entries(col).map(([k, i]) => [k, cells[i] == null || cells[i].trim() === '' ? NaN : Number(cells[i])]));
    const r = Row.safeParse(raw);
    if (!r.success) throw new Error(`${file}:${line} (frame ${frame}): ${r.error.issues.map((i) => `${i.path.join('.')}: ${raw[i.path[0] as string]} is not a finite number`).join('; ')}`);
    return { t: r.data.t, pose: { x: r.data.x, y: r.data.y, yaw: r.data.yaw } };
  });
}

/** Frames of a video sampled at `fps`, centre-cropped to a square of `size` px: RGB bytes per frame. */
export async function extractFrames(video: string, fps: number, size: number, ffmpeg = resolveFfmpeg()): Promise<Uint8Array[]> {
  if (!fs.existsSync(video)) throw new Error(`video ${video} not found`);
  let raw: Buffer;
  try {
    raw = await runFfmpeg(ffmpeg, ['-i', video, '-vf', `fps=${fps},scale=${size}:${size}:force_original_aspect_ratio=increase,crop=${size}:${size}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
  } catch (e) {
    throw new Error(`cannot decode video ${video}: ${(e as Error).message}`);
  }
  const per = size * size * 3;
  if (raw.length === 0) throw new Error(`video ${video}: no frames decoded`);
  if (raw.length % per !== 0) throw new Error(`video ${video}: frame ${Math.floor(raw.length / per)} is truncated`);
  return Array.from({ length: raw.length / per }, (_, i) => new Uint8Array(raw.subarray(i * per, (i + 1) * per)));
}

export interface ImportOptions {
  video: string;
  poses: string;
  fps: number;
  size: number;
  /** Output trajectory folder (must not exist). */
  out: string;
  /** Fewest frames a usable trajectory has (context + 1). */
  minFrames: number;
}

/** Video + poses → an NWM trajectory folder; checks counts, timestamps and length before writing anything. */
export async function importVideo(o: ImportOptions): Promise<{ frames: number }> {
  if (fs.existsSync(o.out)) throw new Error(`${o.out} already exists (choose a new trajectory folder)`);
  const poses = readPosesCsv(o.poses);
  const frames = await extractFrames(o.video, o.fps, o.size);
  if (frames.length !== poses.length) {
    const i = Math.min(frames.length, poses.length);
    throw new Error(frames.length < poses.length
      ? `${o.video}: ${frames.length} frames at ${o.fps} fps but ${o.poses} has ${poses.length} poses (frame ${i} is missing from the video — truncated?)`
      : `${o.poses}: ${poses.length} poses but ${o.video} has ${frames.length} frames at ${o.fps} fps (no pose for frame ${i})`);
  }
  const dt = 1 / o.fps;
  const t0 = poses[0].t;
  poses.forEach(({ t }, i) => {
    if (Math.abs(t - t0 - i * dt) > dt / 2) throw new Error(`${o.poses}: frame ${i} has t = ${t}, expected ${(t0 + i * dt).toFixed(3)} ± ${(dt / 2).toFixed(3)} s at ${o.fps} fps`);
  });
  if (frames.length < o.minFrames) throw new Error(`${o.video}: ${frames.length} frames, shorter than the ${o.minFrames} a sample needs (context + target)`);
  const tmp = `${o.out}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    await writeTrajectoryFolder(tmp, frames, poses.map((p) => p.pose), o.size, 'png');
    fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
    fs.renameSync(tmp, o.out);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { frames: frames.length };
}
