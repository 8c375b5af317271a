/**
 * `raev2 sample`: class-conditional generation from a stage-2 checkpoint to PNG files and a
 * labelled grid (one row per class), with any guidance the method names (none, cfg, autoguidance,
 * free and their combinations; sampling/guidance.ts maps the flags), Euler or Heun, a seed; prints the network evaluations per image. The latents are
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
  labelCondition,
  nullClassCondition,
  disposeCondition,
  classMajorLabels,
  writeLabelledGrid,
  writeImage,
  saveSafetensors,
  assertFinite,
  checkOutput,
  loadStats,
  guidanceLabel,
  guidanceFromFlags,
  guidanceParts,
  GuidanceFlagsShape,
  GUIDANCE_FLAGS_USAGE,
  GUIDANCE_METHODS,
  STAGE1_FILES,
  EngineSchema,
  ENGINE_HELP,
  resolveEngine,
  setOrtMatMul,
  engineDenoiser,
  engineDecoder,
  UsageError,
  type Command,
  type DiTModel,
  type Generated,
  type Tensor,
} from '@raev2/core';
import { loadStage1Run } from '../runs/stage1.js';
import { stringFlags } from './flags.js';

export const SampleFlagsSchema = z
  .object({
    ckpt: z.string({ error: 'is required (a stage-2 run directory or one of its ckpt-<step> folders)' }).min(1),
    out: z.string().min(1).optional(),
    ...GuidanceFlagsShape,
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
    engine: EngineSchema.optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (guidanceParts(f.guidance).auto && f.weak == null) ctx.addIssue({ code: 'custom', path: ['weak'], message: `is required with --guidance ${f.guidance} (a weaker stage-2 checkpoint)` });
    try {
      guidanceFromFlags(f);
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['guidance'], message: (e as Error).message });
    }
  });
export type SampleFlags = z.output<typeof SampleFlagsSchema>;

const USAGE = `usage: raev2 sample --ckpt <stage-2 run or checkpoint> [--out <dir>] [flags]

Generates class-conditional samples: PNG files <out>/<class>/<i>.png, a labelled grid <out>/grid.png
(one row per class) and the latents (<out>/latents.safetensors); prints NFE per image and per step.

${GUIDANCE_FLAGS_USAGE}
  --steps 50   --sampler euler|heun   --seed 0   --per-class 8   --batch 32
  --classes    comma list of class names or indices (default all)
  --weak       weaker stage-2 checkpoint for autoguidance
  --weights    ema | raw (default ema)
  --stage1 --stats   decoder run / statistics file when they moved since training
  --images on|off    decode and write PNGs (needs the stage-1 decoder)
  ${ENGINE_HELP}`;

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
  nfePerStep: number;
  step: number;
}

/** Generate and write samples; see the file comment. */
export async function runSample(f: SampleFlags, log: (s: string) => void = (s) => process.stderr.write(s + '\n')): Promise<SampleResult> {
  const { ckpt, step, run } = readStage2Checkpoint(f.ckpt);
  const { config, resolved } = run;
  const classes = parseClasses(f.classes, resolved.classes);
  const g = guidanceFromFlags(f);
  if (guidanceParts(g.method ?? 'none').free && !(resolved.dit.arch === 'raev2' && resolved.dit.baseDepth != null)) {
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
  checkOutput(out, { kind: 'dir', what: '--out' });
  const model = loadStage2Model(ckpt, resolved.dit, { ema: f.weights === 'ema' });
  const s1 = wantImages ? await loadStage1Run(stage1!) : null;
  // --engine: the DiT and the decoder on onnxruntime (graphs cached beside the checkpoints) or tfjs
  const engine = resolveEngine(f.engine);
  setOrtMatMul(engine === 'ort'); // tfjs: every product on the tensor backend too
  const net = engineDenoiser(engine, model, { cacheDir: path.dirname(path.resolve(ckpt)) });
  const dec = s1 ? engineDecoder(engine, s1.rae, { cacheDir: path.resolve(stage1!) }) : null;
  try {
    if (s1) {
      const statsFile = f.stats ?? config.stats ?? path.join(stage1!, STAGE1_FILES.stats);
      s1.rae.setStats(loadStats(statsFile, [resolved.grid[0] * resolved.grid[1], resolved.channels]));
    }
    const labels = classMajorLabels(classes, f['per-class']);
    const t0 = performance.now();
    const cond = labelCondition(labels);
    let gen: Generated;
    try {
      gen = generateLatents(model, cond, { nullCondition: (b) => nullClassCondition(resolved.classes.length, b), steps: f.steps, sampler: f.sampler, guidance: g, shift: resolved.shift, tEps: config.transport.tEps, seed: f.seed, batchSize: f.batch, weak, denoiser: net.denoiser });
    } finally {
      disposeCondition(cond);
    }
    const secs = (performance.now() - t0) / 1000;
    const files: string[] = [];
    let grid: string | undefined;
    try {
      assertFinite([['latents', gen.latents]], `samples of ${ckpt}`, { hint: 'the checkpoint weights hold NaN/Inf or overflow; nothing was written' });
      fs.mkdirSync(out, { recursive: true });
      saveSafetensors(path.join(out, 'latents.safetensors'), { latents: gen.latents, labels: { dtype: 'I32', shape: [labels.length], data: Int32Array.from(labels) } }, { metadata: { ckpt, guidance: guidanceLabel(g), steps: String(f.steps), sampler: f.sampler, seed: String(f.seed), classes: JSON.stringify(resolved.classes) } });
      if (s1) {
        const images: Tensor = tf.tidy(() => dec!.decode(gen.latents).clipByValue(0, 1));
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
    log(`${labels.length} samples (${classes.length} classes × ${f['per-class']}), ${f.sampler} ${f.steps} steps, guidance ${guidanceLabel(g)}: NFE per image ${gen.nfePerImage}, per step ${gen.nfePerStep} (${gen.calls} network calls, ${secs.toFixed(1)} s, DiT on ${net.label}${dec ? `, decoder on ${dec.label}` : ''})`);
    return { out, files, grid, nfePerImage: gen.nfePerImage, nfePerStep: gen.nfePerStep, step };
  } finally {
    net.release();
    dec?.release();
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
  summary: `generate class-conditional samples from a stage-2 checkpoint (PNG files + labelled grid; guidance ${GUIDANCE_METHODS.join('|')})`,
  usage: USAGE,
  async run(argv) {
    const f = parseFlags(argv, stringFlags(Object.keys(SampleFlagsSchema.shape ?? {})), SampleFlagsSchema, 'sample');
    await initRuntime();
    const r = await runSample(f);
    process.stderr.write(`wrote ${r.files.length} images${r.grid ? ` and ${r.grid}` : ''} to ${r.out}\n`);
    console.log(`NFE per image: ${r.nfePerImage} (${r.nfePerStep} per step)`);
  },
};
