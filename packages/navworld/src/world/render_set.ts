/**
 * Render a world spec to disk in the NWM layout: `<out>/<split>/<trajectory>/{0..n-1}.png,
 * traj_data.json}`, `<out>/world.json` (the spec) and `<out>/train.jsonl` (a manifest of the training
 * frames, what `raev2 stage1 train --data manifest:…` reads to fit the decoder on world frames).
 */
import * as path from 'node:path';
import { progress, writeFileAtomic } from '@raev2/core';
import { worldMaps, worldTrajectories, type WorldSpec, type WorldTrajectory } from './dataset.js';
import { loadPosters } from './posters.js';
import { renderFrame } from './raycast.js';
import { writeTrajectoryFolder } from '../data/nwm_layout.js';
import type { GridMap } from './map.js';

export const WORLD_FILES = { spec: 'world.json', trainManifest: 'train.jsonl' } as const;

/** Render every frame of one trajectory: RGB bytes [size, size, 3] per pose. */
export async function renderTrajectory(m: GridMap, tr: Pick<WorldTrajectory, 'poses'>, size: number): Promise<Uint8Array[]> {
  const posters = await loadPosters();
  return tr.poses.map((p) => renderFrame(m, p, { size }, posters));
}

/** Write the whole spec under `out`; returns the number of frames written. */
export async function renderWorld(spec: WorldSpec, out: string, format: 'png' | 'jpg' = 'png'): Promise<number> {
  const maps = worldMaps(spec);
  const bySeed = new Map([...maps.train, ...maps.heldOut].map((m) => [m.seed, m]));
  const trajs = worldTrajectories(spec, maps);
  const bar = progress({ label: 'navworld render', total: trajs.length, unit: 'traj' });
  const manifest: string[] = [];
  let frames = 0;
  for (const [i, tr] of trajs.entries()) {
    const imgs = await renderTrajectory(bySeed.get(tr.map)!, tr, spec.size);
    const dir = path.join(out, tr.split, tr.name);
    await writeTrajectoryFolder(dir, imgs, tr.poses, spec.size, format);
    if (tr.split === 'train') for (let k = 0; k < imgs.length; k++) manifest.push(JSON.stringify({ image: `${tr.split}/${tr.name}/${k}.${format}` }));
    frames += imgs.length;
    bar.update(i + 1);
  }
  bar.finish();
  writeFileAtomic(path.join(out, WORLD_FILES.trainManifest), manifest.join('\n') + '\n');
  writeFileAtomic(path.join(out, WORLD_FILES.spec), JSON.stringify(spec, null, 2) + '\n');
  return frames;
}
