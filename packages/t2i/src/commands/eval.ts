/** `raev2 t2i eval`: the seeded table of attribute accuracy, retrieval and FD for the text model and its baselines (flags → runT2IEval). */
import { z } from 'zod';
import { initRuntime, parseFlags, type Command } from '@raev2/core';
import { runT2IEval } from '../eval/run.js';
import { int, num, str } from './flags.js';

const USAGE = `usage: raev2 t2i eval --run <text run> --out <folder> [--caption-id <run>] [--shuffled <run>] [flags]

Scores the text-conditioned run (guidance none / free / cfg / free+cfg at equal network evaluations
per image) and, in the same run, an untrained DiT of its shape and the given baselines, on seen,
held-out-combination and paraphrased prompts of the emoji caption set: attribute accuracy by linear
probes on real latents (with their ceilings on real held-out images), image→text retrieval top-1
with the offline tower, FD in the latent space. Writes metrics.json and report.md.

  --per-prompt 4  --seen-stride 8 (every n-th training image's caption is a seen prompt)  --steps 10 (CFG; unguided and free get 2×)  --scale 3  --free-scale 1.78  --seed 0
  --extra <name>=<run>   another run (or checkpoint folder) scored unguided beside the others (repeatable)
  --tower <folder>   the offline tower with image_head.safetensors (default: the run's text encoder folder)
  --decoder <folder> a stage-1 decoder (e.g. <stage-1 run>/decoder): also score skin tone, gender, colour and
                     pair tones in pixels, each sample against the real images of its attribute siblings`;

const Flags = z
  .object({
    run: z.string({ error: 'is required' }).min(1), out: z.string({ error: 'is required' }).min(1), 'caption-id': z.string().optional(), shuffled: z.string().optional(), extra: z.array(z.string().regex(/^[^=]+=.+$/, 'must be <name>=<run dir>')).optional(), tower: z.string().optional(), decoder: z.string().optional(),
    'per-prompt': int.optional(), 'seen-stride': int.optional(), steps: int.optional(), scale: num.optional(), 'free-scale': num.optional(), seed: int.optional(),
  })
  .strict();

export const t2iEvalCommand: Command = {
  name: 't2i eval',
  summary: 'attribute accuracy / retrieval / FD of a T2I run against its baselines',
  usage: USAGE,
  async run(argv) {
    const f = parseFlags(argv, { ...Object.fromEntries(['run', 'out', 'caption-id', 'shuffled', 'tower', 'decoder', 'per-prompt', 'seen-stride', 'steps', 'scale', 'free-scale', 'seed'].map((k) => [k, str])), extra: { type: 'string', multiple: true } }, Flags, 't2i eval');
    await initRuntime();
    await runT2IEval({ run: f.run, out: f.out, captionId: f['caption-id'], shuffled: f.shuffled, extra: (f.extra ?? []).map((e) => ({ name: e.slice(0, e.indexOf('=')), run: e.slice(e.indexOf('=') + 1) })), tower: f.tower, decoder: f.decoder, perPrompt: f['per-prompt'], seenStride: f['seen-stride'], steps: f.steps, cfgScale: f.scale, freeScale: f['free-scale'], seed: f.seed });
    console.log(`metrics.json and report.md written to ${f.out}`);
  },
};
