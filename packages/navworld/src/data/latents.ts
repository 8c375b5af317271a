/**
 * Latent trajectories: every frame of every trajectory through the frozen encoder's multi-layer
 * latent, standardised with Welford statistics of the training frames (docs/method.md, latent
 * standardisation). Stored as one safetensors file per world (`latents.safetensors`, atomic).
 */
import * as fs from 'node:fs';
import { z } from 'zod';
import { tf, Welford, rawLatent, progress, parseWith, saveSafetensors, SafetensorsFile, type Encoder, type LayerSelection, type LatentStats } from '@raev2/core';
import type { Pose } from '../world/pose.js';
import type { Split } from '../world/dataset.js';

export interface LatentTrajectory {
  name: string;
  split: Split;
  map: number;
  poses: Pose[];
  /** Standardised latents [T, N, C], flat. */
  latents: Float32Array;
}

export interface LatentWorld {
  grid: [number, number];
  channels: number;
  trajectories: LatentTrajectory[];
  /** Statistics the latents were standardised with ([N, C] each, flat). */
  mean: Float32Array;
  var: Float32Array;
}

/** Tokens per frame N. */
export const tokensPerFrame = (w: Pick<LatentWorld, 'grid'>) => w.grid[0] * w.grid[1];

/** Raw latents [T, N, C] (flat) of RGB byte frames [size, size, 3], `batch` frames per encoder call. */
export function encodeFrames(encoder: Encoder, selection: LayerSelection, frames: readonly Uint8Array[], size: number, batch = 32): { data: Float32Array; n: number; c: number } {
  const parts: Float32Array[] = [];
  let n = 0, c = 0;
  for (let i = 0; i < frames.length; i += batch) {
    const chunk = frames.slice(i, i + batch);
    const buf = new Float32Array(chunk.length * size * size * 3);
    chunk.forEach((f, k) => { for (let j = 0; j < f.length; j++) buf[k * f.length + j] = f[j] / 255; });
    const z = tf.tidy(() => rawLatent(encoder, selection, tf.tensor4d(buf, [chunk.length, size, size, 3])));
    n = z.shape[1] as number; c = z.shape[2] as number;
    parts.push(z.dataSync() as Float32Array);
    z.dispose();
  }
  const out = new Float32Array(frames.length * n * c);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return { data: out, n, c };
}

/** Welford statistics over the training trajectories' raw latents (or `given` ones); standardise every trajectory in place. */
export function standardiseWorld(trajs: { split: Split; latents: Float32Array }[], n: number, c: number, given?: { mean: Float32Array; var: Float32Array }): { mean: Float32Array; var: Float32Array } {
  let mean: Float32Array, variance: Float32Array;
  if (given) {
    if (given.mean.length !== n * c || given.var.length !== n * c) throw new Error(`latent statistics hold ${given.mean.length} values, the latent has ${n}×${c}`);
    ({ mean, var: variance } = given);
  } else {
    const w = new Welford([n, c]);
    for (const t of trajs) if (t.split === 'train') w.update(t.latents);
    if (w.count === 0) throw new Error('latent statistics: no training trajectories');
    mean = Float32Array.from(w.mean);
    variance = Float32Array.from(w.variance());
  }
  const inv = variance.map((v) => 1 / Math.sqrt(v + 1e-5));
  const size = n * c;
  for (const t of trajs) for (let i = 0; i < t.latents.length; i++) t.latents[i] = (t.latents[i] - mean[i % size]) * inv[i % size];
  return { mean, var: variance };
}

/** The statistics as core's LatentStats tensors [N, C] (caller disposes). */
export function worldStats(w: LatentWorld): LatentStats {
  const n = tokensPerFrame(w);
  return { mean: tf.tensor2d(w.mean, [n, w.channels]), var: tf.tensor2d(w.var, [n, w.channels]) };
}

/** Encode rendered trajectories: frames are produced lazily per trajectory by `frames(i)`. */
export async function encodeWorld(
  encoder: Encoder, selection: LayerSelection, size: number, grid: [number, number],
  trajs: { name: string; split: Split; map: number; poses: Pose[] }[], frames: (i: number) => Promise<Uint8Array[]>,
  stats?: { mean: Float32Array; var: Float32Array },
): Promise<LatentWorld> {
  const bar = progress({ label: 'navworld encode', total: trajs.length, unit: 'traj' });
  const out: LatentTrajectory[] = [];
  let n = 0, c = 0;
  for (const [i, t] of trajs.entries()) {
    const e = encodeFrames(encoder, selection, await frames(i), size);
    n = e.n; c = e.c;
    out.push({ name: t.name, split: t.split, map: t.map, poses: t.poses, latents: e.data });
    bar.update(i + 1);
  }
  bar.finish();
  if (n !== grid[0] * grid[1]) throw new Error(`encoder gave ${n} tokens per frame, grid ${grid.join('×')} expects ${grid[0] * grid[1]}`);
  const st = standardiseWorld(out, n, c, stats);
  return { grid, channels: c, trajectories: out, ...st };
}

const MetaSchema = z.object({
  grid: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  trajectories: z.array(z.object({ name: z.string(), split: z.enum(['train', 'heldout-traj', 'heldout-map']), map: z.number().int(), poses: z.array(z.tuple([z.number(), z.number(), z.number()])) })),
});

/** Save a latent world (one safetensors file, atomic; poses and names in its metadata). */
export function saveLatentWorld(file: string, w: LatentWorld): void {
  const n = tokensPerFrame(w);
  const host = (data: Float32Array, shape: number[]) => ({ dtype: 'F32' as const, shape, data });
  const tensors: Record<string, ReturnType<typeof host>> = { 'stats.mean': host(w.mean, [n, w.channels]), 'stats.var': host(w.var, [n, w.channels]) };
  w.trajectories.forEach((t, i) => { tensors[`traj.${i}`] = host(t.latents, [t.poses.length, n, w.channels]); });
  const meta = { navworld: JSON.stringify({ grid: w.grid, trajectories: w.trajectories.map((t) => ({ name: t.name, split: t.split, map: t.map, poses: t.poses.map((p) => [p.x, p.y, p.yaw]) })) }) };
  saveSafetensors(file, tensors, { metadata: meta });
}

/** Load what saveLatentWorld wrote (throws naming the file when it is not one). */
export function loadLatentWorld(file: string): LatentWorld {
  if (!fs.existsSync(file)) throw new Error(`latent world ${file} not found`);
  const f = SafetensorsFile.open(file);
  try {
    let raw: unknown;
    try {
      raw = JSON.parse(f.metadata.navworld ?? 'null');
    } catch (e) {
      throw new Error(`${file}: bad navworld metadata (${(e as Error).message})`);
    }
    const meta = parseWith(MetaSchema, raw, `${file} metadata`);
    const read = (name: string) => Float32Array.from(f.readHost(name).data as ArrayLike<number>);
    const mean = read('stats.mean'), variance = read('stats.var');
    const trajectories = meta.trajectories.map((t, i) => ({ name: t.name, split: t.split, map: t.map, poses: t.poses.map(([x, y, yaw]) => ({ x, y, yaw })), latents: read(`traj.${i}`) }));
    const channels = f.info('stats.mean').shape[1];
    return { grid: meta.grid, channels, trajectories, mean, var: variance };
  } finally {
    f.close();
  }
}
