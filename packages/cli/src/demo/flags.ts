/**
 * Flags of `npm run demo` / `raev2 demo`, validated with zod so an error names the flag. The
 * architecture of each mode lives in `plan.ts`; the flags pick the mode, the time budget and the
 * few knobs a user may want to turn (guidance weight, classes, where the outputs go).
 */
import { z } from 'zod';
import { parseFlags } from '@raev2/core';

const onOff = z.enum(['on', 'off'], { error: 'must be on or off' });

export const DemoFlagsSchema = z
  .object({
    /** Output folder (final files at its top, the runs under `work/`). */
    out: z.string().min(1).default('outputs/demo'),
    /** Train the decoder and the DiT instead of using the shipped checkpoint (implied by --quick, --budget, --decoder-steps, --dit-steps and flags that change the models). */
    train: z.boolean().default(false),
    /** Small and fast (< 5 minutes): fewer images, a smaller DiT, fewer steps. */
    quick: z.boolean().default(false),
    /** Wall-clock budget in minutes that the step counts are planned for (default 20, quick 4). */
    budget: z.coerce.number({ error: 'must be a number of minutes' }).positive().max(24 * 60).optional(),
    /** Delete the previous run in --out and start over. */
    fresh: z.boolean().default(false),
    seed: z.coerce.number().int().nonnegative().default(0),
    /** wasm threads: auto (one per core, at most 8) or a count; default RAEV2_WASM_THREADS, else 1 when training (decoder ∥ DiT, one core each) and every core otherwise. */
    threads: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(8)], { error: 'must be auto or an integer 1…8' }).optional(),
    /** Free-guidance weight w of the samples and generation metrics (published 1.78). */
    'guidance-scale': z.coerce.number().min(0).default(1.78),
    /** Euler steps of the sample grid (default 50, quick 25). */
    'sample-steps': z.coerce.number().int().positive().max(1000).optional(),
    'per-class': z.coerce.number().int().positive().max(64).default(8),
    /** Comma list of emoji categories to keep (default: every category with ≥ 40 images). */
    classes: z.string().min(1).optional(),
    /** Include the skin-tone variants (five near-copies of most people emoji). */
    'skin-tones': onOff.default('off'),
    /** Weight w_p of the MobileNetV2 perceptual term of the decoder loss (default: the mode's, 0 = L1 only). */
    perceptual: z.coerce.number().min(0).max(10).optional(),
    /** GAN term of the decoder loss (second half of decoder training). */
    gan: onOff.default('off'),
    /** Also train a decoder per K ∈ {1, 2, 3} (last K blocks) for the PSNR-per-K plot. */
    'k-sweep': z.boolean().default(false),
    /** Fixed step counts instead of the budget plan (reproducible across machines). */
    'decoder-steps': z.coerce.number().int().positive().optional(),
    'dit-steps': z.coerce.number().int().positive().optional(),
  })
  .strict();
export type DemoFlags = z.output<typeof DemoFlagsSchema>;

const BOOLEAN_FLAGS = new Set(['train', 'quick', 'fresh', 'k-sweep']);

export const DEMO_USAGE = `usage: npm run demo -- [flags]        (or: npm run raev2 -- demo [flags])

Class-conditional emoji generation end to end, offline: an RAE decoder on the frozen nsfwjs
MobileNetV2's multi-layer latent (last 3 blocks of the 96-channel stage), the latent statistics, a
DiT^DH with the base head (RAEv2 in-context conditioning, x-prediction), sampling with free guidance,
scores against an untrained DiT, and samples_grid.png, reconstructions.png, metrics.json and
report.html in --out. By default the decoder and the DiT come from the checkpoint shipped with
@raev2/encoders (trained by the command in its manifest and the README); --train (or any flag that
changes the models) trains them here. Re-running continues where it stopped (Ctrl-C checkpoints);
--fresh starts over.

  --out <dir>            output folder (default outputs/demo)
  --train                train here instead of using the shipped checkpoint (default budget 20 minutes)
  --quick                small run, < 5 minutes (lower quality: 60 images per class, L1-only decoder, smaller DiT)
  --budget <minutes>     wall-clock budget the step counts are planned for (default 20; --quick 4)
  --fresh                delete the previous run in --out first
  --seed 0               --threads auto|N (wasm threads; default RAEV2_WASM_THREADS, else 1 per process when training, all cores otherwise)
  --guidance-scale 1.78  free-guidance weight w (applied for t in [0.1, 1])
  --sample-steps 50      (quick: 25)   --per-class 8
  --classes a,b,...      emoji categories to keep (default: all with at least 40 images)
  --skin-tones on|off    include skin-tone variants (default off)
  --perceptual <w>       weight of the MobileNetV2 perceptual term in the decoder loss (default 0: L1 only —
                         it makes a decoder step 3.5× dearer; worth it with a larger --budget, e.g. 0.1)
  --gan on|off           GAN term in the second half of decoder training (default off)
  --k-sweep              also train decoders on the last 1 and 2 blocks (PSNR per K in the report)
  --decoder-steps N --dit-steps N   fixed step counts instead of the budget plan`;

/** argv → validated flags (UsageError naming the flag). */
export function parseDemoArgs(argv: string[]): DemoFlags {
  const options = Object.fromEntries(Object.keys(DemoFlagsSchema.shape).map((k) => [k, { type: BOOLEAN_FLAGS.has(k) ? ('boolean' as const) : ('string' as const) }]));
  return parseFlags(argv, options, DemoFlagsSchema, 'demo');
}
