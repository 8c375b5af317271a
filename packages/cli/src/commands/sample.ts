/**
 * `raev2 sample`: class-conditional generation from a stage-2 checkpoint to PNG files and a
 * labelled grid (one row per class), with a guidance choice (none | cfg | autoguidance | free |
 * free+cfg), Euler or Heun, a seed; prints the network evaluations per image. The latents are
 * written too (`latents.safetensors`), so a run trained without a decoder can still be sampled.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import {
  tf,
  initRuntime,
  parseFlags,
  readStage2Checkpoint,
  loadStage2Model,
  generateLatents,
  classMajorLabels,
  writeLabelledGrid,
  writeImage,
  saveSafetensors,
  loadStats,
  guidanceLabel,
  GUIDANCE_METHODS,
  STAGE1_FILES,
  UsageError,
  type Command,
  type DiTModel,
  type GuidanceConfigInput,
  type Tensor,
} from '@raev2/core';
import { loadStage1Run } from '../runs/stage1.js';
import { stringFlags } from './flags.js';

const interval = z.string().transform((s, ctx) => {
  const v = s.split(',').map(Number);
  if (v.length !== 2 || !v.every(Number.isFinite) || !(v[0] < v[1])) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not tMin,tMax with tMin < tMax (e.g. 0.1,1)` });
    return z.NEVER;
  }
  return v as [number, number];
});

export const SampleFlagsSchema = z
  .object({
    ckpt: z.string({ error: 'is required (a stage-2 run directory or one of its ckpt-<step> folders)' }).min(1),
    out: z.string().min(1).optional(),
    guidance: z.enum(GUIDANCE_METHODS as unknown as [string, ...string[]], { error: `must be one of ${GUIDANCE_METHODS.join(', ')}` }).default('none'),
    /** The guidance weight: CFG/AutoGuidance w for cfg|autoguidance, the free-guidance w for free|free+cfg. */
    scale: z.coerce.number().optional(),
    'cfg-scale': z.coerce.number().optional(),
    interval: interval.optional(),
    'cfg-interval': interval.optional(),
    steps: z.coerce.number().int().positive().default(50),
    sampler: z.enum(['euler', 'heun']).default('euler'),
    seed: z.coerce.number().int().nonnegative().default(0),
    'per-class': z.coerce.number().int().positive().default(8),
    classes: z.string().min(1).optional(),
    /** The weaker model of AutoGuidance: another stage-2 checkpoint with the same latent. */
    weak: z.string().min(1).optional(),
    weights: z.enum(['ema', 'raw']).default('ema'),
    /** Override where the decoder and statistics come from (when the stage-1 run moved). */
    stage1: z.string().min(1).optional(),
    stats: z.string().min(1).optional(),
    batch: z.coerce.number().int().positive().default(32),
    images: z.enum(['on', 'off']).default('on'),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.guidance === 'autoguidance' && f.weak == null) ctx.addIssue({ code: 'custom', path: ['weak'], message: 'is required with --guidance autoguidance (a weaker stage-2 checkpoint)' });
  });
export type SampleFlags = z.output<typeof SampleFlagsSchema>;

const USAGE = `usage: raev2 sample --ckpt <stage-2 run or checkpoint> [--out <dir>] [flags]

Generates class-conditional samples: PNG files <out>/<class>/<i>.png, a labelled grid <out>/grid.png
(one row per class) and the latents (<out>/latents.safetensors); prints NFE per image.

  --guidance   ${GUIDANCE_METHODS.join(' | ')} (default none)
  --scale      guidance weight: w of CFG/AutoGuidance, or of free guidance for free / free+cfg (published free: 1.78)
  --cfg-scale  the CFG weight of free+cfg
  --interval   tMin,tMax where guidance applies (default 0,1 for CFG, 0.1,1 for free guidance)   --cfg-interval (free+cfg)
  --steps 50   --sampler euler|heun   --seed 0   --per-class 8   --batch 32
  --classes    comma list of class names or indices (default all)
  --weak       weaker stage-2 checkpoint for autoguidance
  --weights    ema | raw (default ema)
  --stage1 --stats   decoder run / statistics file when they moved since training
  --images on|off    decode and write PNGs (needs the stage-1 decoder)`;

/** The guidance config for the flags. */
export function guidanceFromFlags(f: Pick<SampleFlags, 'guidance' | 'scale' | 'cfg-scale' | 'interval' | 'cfg-interval'>): GuidanceConfigInput {
  const g: GuidanceConfigInput = { method: f.guidance as GuidanceConfigInput['method'] };
  if (f.guidance === 'cfg' || f.guidance === 'autoguidance') {
    if (f.scale != null) g.cfgScale = f.scale;
    if (f.interval) g.cfgInterval = f.interval;
  } else if (f.guidance === 'free' || f.guidance === 'free+cfg') {
    if (f.scale != null) g.freeScale = f.scale;
    if (f.interval) g.freeInterval = f.interval;
    if (f['cfg-scale'] != null) g.cfgScale = f['cfg-scale'];
    if (f['cfg-interval']) g.cfgInterval = f['cfg-interval'];
  }
  return g;
}

/** Class indices for `--classes` (names or indices) against the run's class names. */
export function parseClasses(text: string | undefined, names: readonly string[]): number[] {
  if (text == null) return names.map((_, i) => i);
  return text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const byName = names.indexOf(s);
    if (byName >= 0) return byName;
    if (/^\d+$/.test(s) && Number(s) < names.length) return Number(s);
    throw new UsageError(`--classes: "${s}" is not a class of this model (classes: ${names.map((n, i) => `${i}=${n}`).join(', ')})`);
  });
}

export interface SampleResult {
  out: string;
  files: string[];
  grid?: string;
  nfePerImage: number;
  step: number;
}

/** Generate and write samples; see the file comment. */
export async function runSample(f: SampleFlags, log: (s: string) => void = (s) => process.stderr.write(s + '\n')): Promise<SampleResult> {
  const { ckpt, step, run } = readStage2Checkpoint(f.ckpt);
  const { config, resolved } = run;
  const classes = parseClasses(f.classes, resolved.classes);
  const g = guidanceFromFlags(f);
  if (g.method?.startsWith('free') && !(resolved.dit.arch === 'raev2' && resolved.dit.baseDepth != null)) {
    throw new UsageError(`--guidance ${g.method}: the model in ${ckpt} has no base head (trained with baseDepth none), so free guidance is unavailable`);
  }
  let weak: DiTModel | undefined;
  if (f.weak) {
    const w = readStage2Checkpoint(f.weak);
    if (w.run.resolved.grid.join() !== resolved.grid.join() || w.run.resolved.channels !== resolved.channels || w.run.resolved.stats !== resolved.stats) {
      throw new UsageError(`--weak ${f.weak}: its latent (${w.run.resolved.grid.join('×')}×${w.run.resolved.channels}, stats ${w.run.resolved.stats.slice(0, 8)}) differs from the model's`);
    }
    weak = loadStage2Model(w.ckpt, w.run.resolved.dit, { ema: f.weights === 'ema' });
  }
  const stage1 = f.stage1 ?? config.stage1;
  const wantImages = f.images === 'on';
  if (wantImages && stage1 == null) throw new UsageError(`the model in ${ckpt} was trained without a stage-1 run (no decoder): pass --stage1 <run dir>, or --images off for latents only`);
  const out = f.out ?? path.join(path.dirname(path.resolve(ckpt)), `samples-${step}-${guidanceLabel(g).replace(/[^\w.+-]/g, '_')}`);
  const model = loadStage2Model(ckpt, resolved.dit, { ema: f.weights === 'ema' });
  const s1 = wantImages ? await loadStage1Run(stage1!) : null;
  try {
    if (s1) {
      const statsFile = f.stats ?? config.stats ?? path.join(stage1!, STAGE1_FILES.stats);
      s1.rae.setStats(loadStats(statsFile, [resolved.grid[0] * resolved.grid[1], resolved.channels]));
    }
    const labels = classMajorLabels(classes, f['per-class']);
    const t0 = performance.now();
    const gen = generateLatents(model, labels, { steps: f.steps, sampler: f.sampler, guidance: g, shift: resolved.shift, seed: f.seed, batchSize: f.batch, weak });
    const secs = (performance.now() - t0) / 1000;
    const files: string[] = [];
    let grid: string | undefined;
    try {
      fs.mkdirSync(out, { recursive: true });
      saveSafetensors(path.join(out, 'latents.safetensors'), { latents: gen.latents, labels: { dtype: 'I32', shape: [labels.length], data: Int32Array.from(labels) } }, { metadata: { ckpt, guidance: guidanceLabel(g), steps: String(f.steps), sampler: f.sampler, seed: String(f.seed), classes: JSON.stringify(resolved.classes) } });
      if (s1) {
        const images: Tensor = tf.tidy(() => s1.rae.decode(gen.latents).clipByValue(0, 1));
        try {
          for (let i = 0; i < labels.length; i++) {
            const name = resolved.classes[labels[i]];
            const file = path.join(out, safeName(name), `${String(i % f['per-class']).padStart(3, '0')}.png`);
            const img = images.slice([i, 0, 0, 0], [1, -1, -1, -1]);
            await writeImage(file, img);
            img.dispose();
            files.push(file);
          }
          const rows = classes.map((c, r) => ({ label: resolved.classes[c], images: images.slice([r * f['per-class'], 0, 0, 0], [f['per-class'], -1, -1, -1]) }));
          grid = path.join(out, 'grid.png');
          try {
            await writeLabelledGrid(grid, rows);
          } finally {
            tf.dispose(rows.map((r) => r.images));
          }
        } finally {
          images.dispose();
        }
      }
    } finally {
      gen.latents.dispose();
    }
    log(`${labels.length} samples (${classes.length} classes × ${f['per-class']}), ${f.sampler} ${f.steps} steps, guidance ${guidanceLabel(g)}: NFE per image ${gen.nfePerImage} (${gen.calls} network calls, ${secs.toFixed(1)} s)`);
    return { out, files, grid, nfePerImage: gen.nfePerImage, step };
  } finally {
    model.dispose();
    weak?.dispose();
    s1?.dispose();
  }
}

function safeName(s: string): string {
  return s.replace(/[^\w.-]+/g, '_').replace(/^_+|_+$/g, '') || 'class';
}

export const sampleCommand: Command = {
  name: 'sample',
  summary: 'generate class-conditional samples from a stage-2 checkpoint (PNG files + labelled grid; guidance none|cfg|autoguidance|free|free+cfg)',
  usage: USAGE,
  async run(argv) {
    const f = parseFlags(argv, stringFlags(Object.keys(SampleFlagsSchema.shape ?? {})), SampleFlagsSchema, 'sample');
    await initRuntime();
    const r = await runSample(f);
    process.stderr.write(`wrote ${r.files.length} images${r.grid ? ` and ${r.grid}` : ''} to ${r.out}\n`);
    console.log(`NFE per image: ${r.nfePerImage}`);
  },
};
