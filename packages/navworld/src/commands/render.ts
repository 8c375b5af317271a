/** `raev2 navworld render`: the offline world's frames and poses in the NWM trajectory layout. */
import { z } from 'zod';
import { parseFlags, type Command } from '@raev2/core';
import { WorldSpecSchema } from '../world/dataset.js';
import { renderWorld } from '../world/render_set.js';

const int = (min: number) => z.coerce.number().int().min(min);
const Flags = z.object({
  out: z.string({ error: 'is required (output folder)' }).min(1),
  seed: int(0).default(0),
  'train-maps': int(1).default(24),
  'heldout-maps': int(0).default(4),
  trajectories: int(1).default(5),
  length: int(2).default(64),
  size: int(8).default(96),
  format: z.enum(['png', 'jpg']).default('png'),
}).strict();

const usage = `usage: raev2 navworld render --out <folder> [flags]

Renders the seeded offline world (rooms, corridors, textured walls, emoji posters) with the raycaster:
<out>/{train,heldout-traj,heldout-map}/<trajectory>/{0..n-1}.png + traj_data.json (NWM layout, 4 Hz),
<out>/world.json (the spec) and <out>/train.jsonl (training frames, for \`raev2 stage1 train --data manifest:…\`).

  --out            output folder (required)
  --seed           world seed (default 0)
  --train-maps     training maps (default 24)
  --heldout-maps   maps never used in training (default 4)
  --trajectories   per map; the last one of each training map is held out (default 5)
  --length         frames per trajectory (default 64)
  --size           frame side in px, the encoder input (default 96)
  --format         png | jpg (default png)`;

export const renderCommand: Command = {
  name: 'navworld render',
  summary: 'render the offline navigation world (frames + poses, NWM layout)',
  usage,
  async run(argv) {
    const f = parseFlags(argv, {
      out: { type: 'string' }, seed: { type: 'string' }, 'train-maps': { type: 'string' }, 'heldout-maps': { type: 'string' },
      trajectories: { type: 'string' }, length: { type: 'string' }, size: { type: 'string' }, format: { type: 'string' },
    }, Flags, 'navworld render');
    const spec = WorldSpecSchema.parse({ seed: f.seed, trainMaps: f['train-maps'], heldOutMaps: f['heldout-maps'], trajectories: f.trajectories, length: f.length, size: f.size });
    const n = await renderWorld(spec, f.out, f.format);
    console.log(`navworld render: ${n} frames → ${f.out}`);
  },
};
