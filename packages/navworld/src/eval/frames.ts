/** True frames from the simulator for poses on a world's maps, as images NHWC [0, 1]. */
import { tf, type Tensor } from '@raev2/core';
import { worldMaps, type WorldSpec } from '../world/dataset.js';
import type { GridMap } from '../world/map.js';
import { loadPosters } from '../world/posters.js';
import { renderFrame } from '../world/raycast.js';
import type { Pose } from '../world/pose.js';

export class Simulator {
  private readonly maps: Map<number, GridMap>;
  constructor(readonly spec: WorldSpec) {
    const m = worldMaps(spec);
    this.maps = new Map([...m.train, ...m.heldOut].map((g) => [g.seed, g]));
  }
  map(seed: number): GridMap {
    const m = this.maps.get(seed);
    if (m == null) throw new Error(`map ${seed} is not part of this world`);
    return m;
  }
  /** RGB bytes [size, size, 3] of the view from `pose` on map `seed`. */
  async frame(seed: number, pose: Pose): Promise<Uint8Array> {
    return renderFrame(this.map(seed), pose, { size: this.spec.size }, await loadPosters());
  }
  /** Views as images [B, size, size, 3] in [0, 1]. */
  async images(views: readonly { map: number; pose: Pose }[]): Promise<Tensor> {
    const s = this.spec.size;
    const buf = new Float32Array(views.length * s * s * 3);
    for (const [r, v] of views.entries()) {
      const f = await this.frame(v.map, v.pose);
      for (let j = 0; j < f.length; j++) buf[r * f.length + j] = f[j] / 255;
    }
    return tf.tensor4d(buf, [views.length, s, s, 3]);
  }
}
