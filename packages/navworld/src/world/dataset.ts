/**
 * The offline world as a dataset: training maps, held-out maps (seeds never used in training) and,
 * on the training maps, held-out trajectories. Everything follows from one seeded spec.
 */
import { z } from 'zod';
import { generateMap, type GridMap, type MapOptions } from './map.js';
import { randomWalk, type Trajectory, type WalkOptions } from './motion.js';

/** Held-out map seeds start here, far from any training seed. */
export const HELDOUT_MAP_BASE = 100000;

export const WorldSpecSchema = z.object({
  seed: z.number().int().nonnegative().default(0),
  trainMaps: z.number().int().positive().default(24),
  heldOutMaps: z.number().int().nonnegative().default(4),
  /** Trajectories per map; on training maps the last one is held out. */
  trajectories: z.number().int().positive().default(5),
  /** Frames per trajectory (4 Hz). */
  length: z.number().int().min(2).default(64),
  /** Frame side in px (the encoder's input size). */
  size: z.number().int().min(8).default(96),
}).strict();
export type WorldSpec = z.output<typeof WorldSpecSchema>;

export type Split = 'train' | 'heldout-traj' | 'heldout-map';

export interface WorldTrajectory extends Trajectory {
  /** Folder name in the NWM layout, e.g. `map0003_t02`. */
  name: string;
  split: Split;
}

/** The maps of a spec (training maps first). */
export function worldMaps(spec: WorldSpec, mapOptions: MapOptions = {}): { train: GridMap[]; heldOut: GridMap[] } {
  const train = Array.from({ length: spec.trainMaps }, (_, i) => generateMap(spec.seed * 1000 + i, mapOptions));
  const heldOut = Array.from({ length: spec.heldOutMaps }, (_, i) => generateMap(HELDOUT_MAP_BASE + spec.seed * 1000 + i, mapOptions));
  return { train, heldOut };
}

/** Every trajectory of a spec with its split. */
export function worldTrajectories(spec: WorldSpec, maps = worldMaps(spec), walk: WalkOptions = {}): WorldTrajectory[] {
  const out: WorldTrajectory[] = [];
  const add = (m: GridMap, split: (t: number) => Split) => {
    for (let t = 0; t < spec.trajectories; t++) {
      const tr = randomWalk(m, t, { ...walk, length: spec.length });
      out.push({ ...tr, name: `map${String(m.seed).padStart(6, '0')}_t${String(t).padStart(2, '0')}`, split: split(t) });
    }
  };
  for (const m of maps.train) add(m, (t) => (t === spec.trajectories - 1 && spec.trajectories > 1 ? 'heldout-traj' : 'train'));
  for (const m of maps.heldOut) add(m, () => 'heldout-map');
  return out;
}
