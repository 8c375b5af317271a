/**
 * World → latent world: render every trajectory of a spec in memory, encode each frame with the
 * frozen encoder's multi-layer latent (spec string, e.g. `mobilenetv2-nsfwjs[layers=last3]`) at the
 * frame size, standardise with the training frames' statistics, save `latents.safetensors`.
 */
import { probeLatent } from '@raev2/core';
import { loadEncoder, withResolution } from '@raev2/encoders';
import { worldMaps, worldTrajectories, type Split, type WorldSpec } from '../world/dataset.js';
import { renderTrajectory } from '../world/render_set.js';
import { encodeWorld, saveLatentWorld, type LatentWorld } from './latents.js';

/**
 * Render + encode + standardise a world; writes `file` when given. `only` keeps some splits (e.g. the
 * held-out ones for evaluating a shipped model), `stats` standardises with given statistics instead of
 * the training frames' own.
 */
export async function prepareLatentWorld(spec: WorldSpec, encoderSpec: string, file?: string, o: { only?: Split[]; stats?: { mean: Float32Array; var: Float32Array } } = {}): Promise<LatentWorld> {
  const loaded = await loadEncoder(withResolution(encoderSpec, spec.size));
  try {
    const { grid } = probeLatent(loaded.encoder, loaded.selection);
    const maps = worldMaps(spec);
    const bySeed = new Map([...maps.train, ...maps.heldOut].map((m) => [m.seed, m]));
    const trajs = worldTrajectories(spec, maps).filter((t) => o.only == null || o.only.includes(t.split));
    if (o.only != null && o.stats == null && !o.only.includes('train')) throw new Error('statistics come from the training split: pass stats when encoding only held-out splits');
    const world = await encodeWorld(loaded.encoder, loaded.selection, spec.size, grid, trajs, (i) => renderTrajectory(bySeed.get(trajs[i].map)!, trajs[i], spec.size), o.stats);
    if (file) saveLatentWorld(file, world);
    return world;
  } finally {
    loaded.encoder.dispose();
  }
}
