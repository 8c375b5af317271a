/**
 * A long autoregressive rollout on a held-out map (what `navworld rollout` and the demo write): a new
 * random walk, its first n frames as the true context (encoded), every later frame predicted from
 * predictions; decoded predictions beside the simulator's true frames, and per-step latent cosine.
 */
import { tf, type GuidanceConfigInput, type RAE } from '@raev2/core';
import type { NavModel } from '../model/load.js';
import { rollout } from '../model/rollout.js';
import { Simulator } from './frames.js';
import { cosine } from './metrics.js';
import { HELDOUT_MAP_BASE } from '../world/dataset.js';
import { FPS, randomWalk } from '../world/motion.js';
import type { Pose } from '../world/pose.js';

export interface LongRollout {
  map: number;
  poses: Pose[];
  /** RGB bytes per predicted / true frame. */
  pred: Uint8Array[];
  real: Uint8Array[];
  latentCosine: number[];
}

/** Roll out `seconds` at 4 Hz on held-out map `mapIndex` along walk `seed`. */
export async function longRollout(m: NavModel, rae: RAE, o: { seconds: number; mapIndex: number; seed: number; steps: number; guidance: GuidanceConfigInput; block?: number; warn?: (s: string) => void }): Promise<LongRollout> {
  const spec = m.info.world;
  if (o.mapIndex >= spec.heldOutMaps) throw new Error(`map ${o.mapIndex}: the world has ${spec.heldOutMaps} held-out maps`);
  const sim = new Simulator(spec);
  const map = sim.map(HELDOUT_MAP_BASE + spec.seed * 1000 + o.mapIndex);
  const n = m.info.condition.contextFrames;
  const H = Math.round(o.seconds * FPS);
  const walk = randomWalk(map, 1000 + o.seed, { length: n + H });
  const ctxImg = await sim.images(walk.poses.slice(0, n).map((pose) => ({ map: map.seed, pose })));
  const ctxLat = tf.tidy(() => rae.encode(ctxImg, { noise: false }));
  const cd = ctxLat.dataSync() as Float32Array;
  const fs = cd.length / n;
  const context = Array.from({ length: n }, (_, j) => cd.slice(j * fs, (j + 1) * fs));
  tf.dispose([ctxImg, ctxLat]);
  const [pred] = rollout(m, [context], [walk.poses.slice(n - 1)], { steps: o.steps, guidance: o.guidance, seed: o.seed, block: o.block, warn: o.warn });
  const s = m.info.size, C = m.info.condition.channels;
  const out: LongRollout = { map: map.seed, poses: walk.poses, pred: [], real: [], latentCosine: [] };
  const bytes = (t: tf.Tensor) => {
    const b = tf.tidy(() => t.clipByValue(0, 1).mul(255).round().toInt());
    const d = b.dataSync();
    b.dispose();
    return Array.from({ length: t.shape[0] as number }, (_, k) => Uint8Array.from(d.subarray(k * s * s * 3, (k + 1) * s * s * 3)));
  };
  for (let i = 0; i < H; i += 16) {
    const zs = pred.slice(i, i + 16);
    const img = tf.tidy(() => rae.decode(tf.tensor3d(Float32Array.from(zs.flatMap((z) => Array.from(z))), [zs.length, fs / C, C])));
    out.pred.push(...bytes(img));
    const real = await sim.images(walk.poses.slice(n + i, n + i + zs.length).map((pose) => ({ map: map.seed, pose })));
    const rl = tf.tidy(() => rae.encode(real, { noise: false }));
    const rd = rl.dataSync() as Float32Array;
    zs.forEach((z, k) => out.latentCosine.push(cosine(z, rd.subarray(k * fs, (k + 1) * fs))));
    out.real.push(...bytes(real));
    tf.dispose([img, real, rl]);
  }
  return out;
}
