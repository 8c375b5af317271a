/**
 * Videos from RGB frames: H.264 MP4 (yuv420p, +faststart, so browsers play it) through ffmpeg with
 * raw rgb24 frames on stdin, or an animated GIF (ffmpeg's palette filters; without ffmpeg, sharp's GIF
 * encoder) where no H.264 encoder is available. Written to a temp file and renamed (atomic).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { hasEncoder, resolveFfmpeg, runFfmpeg } from './ffmpeg.js';

export interface VideoFrames {
  width: number;
  height: number;
  fps: number;
  /** RGB bytes [height, width, 3] per frame. */
  frames: Uint8Array[];
}

function tempFor(file: string): string {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}${path.extname(file)}`);
}

/** Write an MP4 (H.264); returns the file written. Throws when ffmpeg or libx264 is missing. */
export async function writeMp4(file: string, v: VideoFrames, ffmpeg = resolveFfmpeg()): Promise<string> {
  if (!hasEncoder(ffmpeg, 'libx264')) throw new Error(`${ffmpeg} has no libx264 encoder`);
  const tmp = tempFor(file);
  try {
    // even sides for yuv420p
    const pad = 'pad=ceil(iw/2)*2:ceil(ih/2)*2';
    await runFfmpeg(ffmpeg, ['-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${v.width}x${v.height}`, '-r', String(v.fps), '-i', 'pipe:0',
      '-vf', `${pad},scale=iw*2:ih*2:flags=neighbor`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-crf', '18', '-movflags', '+faststart', tmp], v.frames);
    fs.renameSync(tmp, file);
    return file;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Write an animated GIF (ffmpeg when available, else sharp). */
export async function writeGif(file: string, v: VideoFrames): Promise<string> {
  const tmp = tempFor(file);
  try {
    let ffmpeg: string | null = null;
    try { ffmpeg = resolveFfmpeg(); } catch { ffmpeg = null; }
    if (ffmpeg) {
      await runFfmpeg(ffmpeg, ['-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${v.width}x${v.height}`, '-r', String(v.fps), '-i', 'pipe:0',
        '-vf', 'split[a][b];[a]palettegen[p];[b][p]paletteuse', tmp], v.frames);
    } else {
      // sharp reads the frames stacked vertically as pages of one animated image
      const all = Buffer.concat(v.frames.map((f) => Buffer.from(f)));
      const raw = { width: v.width, height: v.height * v.frames.length, channels: 3 as const, pageHeight: v.height };
      await sharp(all, { raw }).gif({ loop: 0, delay: Array(v.frames.length).fill(Math.round(1000 / v.fps)) }).toFile(tmp);
    }
    fs.renameSync(tmp, file);
    return file;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** MP4 when possible, else GIF beside it (same name, .gif); returns what was written. */
export async function writeVideo(fileMp4: string, v: VideoFrames, warn: (s: string) => void = console.warn): Promise<string> {
  try {
    return await writeMp4(fileMp4, v);
  } catch (e) {
    const gif = fileMp4.replace(/\.mp4$/i, '') + '.gif';
    warn(`no H.264 video (${(e as Error).message}); writing ${gif}`);
    return writeGif(gif, v);
  }
}

/** Side by side: [a | b] per frame (same sizes) → frames of width 2·w + gap. */
export function sideBySide(a: readonly Uint8Array[], b: readonly Uint8Array[], w: number, h: number, gap = 4): { frames: Uint8Array[]; width: number } {
  const W = 2 * w + gap;
  const frames = a.map((fa, t) => {
    const fb = b[t];
    const out = new Uint8Array(W * h * 3).fill(255);
    for (let r = 0; r < h; r++) {
      out.set(fa.subarray(r * w * 3, (r + 1) * w * 3), r * W * 3);
      out.set(fb.subarray(r * w * 3, (r + 1) * w * 3), (r * W + w + gap) * 3);
    }
    return out;
  });
  return { frames, width: W };
}
