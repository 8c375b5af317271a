/** `raev2 navworld prepare`: a walk video + poses.csv → one NWM trajectory folder. */
import { z } from 'zod';
import { parseFlags, type Command } from '@raev2/core';
import { importVideo } from '../data/video_import.js';

const Flags = z.object({
  video: z.string({ error: 'is required (the walk video)' }).min(1),
  poses: z.string({ error: 'is required (CSV with header t,x,y,yaw)' }).min(1),
  out: z.string({ error: 'is required (the trajectory folder to create)' }).min(1),
  fps: z.coerce.number().positive().default(4),
  size: z.coerce.number().int().min(8).default(96),
  'min-frames': z.coerce.number().int().min(2).default(5),
}).strict();

const usage = `usage: raev2 navworld prepare --video walk.mp4 --poses poses.csv --out <trajectory folder> [--fps 4] [--size 96]

Samples the video at --fps with ffmpeg (centre crop, --size px squares) and pairs frame i with row i
of the poses CSV (header t,x,y,yaw; t in seconds must be i/fps from the first row, ± half a frame).
Writes <out>/{0..n-1}.png and traj_data.json (the NWM layout), only when everything checks out:
an unreadable or truncated video, a pose count or timestamp mismatch, NaN poses or a trajectory
shorter than --min-frames (context + 1, default 5) stop with the file and frame named.`;

export const prepareCommand: Command = {
  name: 'navworld prepare',
  summary: 'a walk video + poses.csv → an NWM trajectory folder (ffmpeg)',
  usage,
  async run(argv) {
    const f = parseFlags(argv, Object.fromEntries(['video', 'poses', 'out', 'fps', 'size', 'min-frames'].map((k) => [k, { type: 'string' as const }])), Flags, 'navworld prepare');
    const r = await importVideo({ video: f.video, poses: f.poses, out: f.out, fps: f.fps, size: f.size, minFrames: f['min-frames'] });
    console.log(`navworld prepare: ${r.frames} frames → ${f.out}`);
  },
};
