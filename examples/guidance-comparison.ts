/**
 * RAEv2's stage-2 claims at CPU scale (docs/method.md §2), on the google emoji and the offline MobileNetV2
 * latent (blocks 10–12, 64-px images → 4×4×96 tokens):
 *   (a) a DiT^DH without the base head vs (b) the same DiT with the base head after block d —
 *       generation FD (RAE latent space) against training steps, from each run's metrics.jsonl;
 *   then model (b) sampled with (i) no guidance, (ii) CFG, (iii) free guidance, (iv) free + CFG,
 *       (v) AutoGuidance and its combinations with free guidance and CFG (the weak model: the run's
 *       earliest kept checkpoint) at an EQUAL number of network evaluations per image (CFG evaluates
 *       [cond; null], AutoGuidance a second model: each gets nfe / (evaluations per step) Euler steps), scored by FD in the latent and MobileNetV2 feature spaces,
 *       FD_r (against the held-out floor) and the class accuracy of a linear probe.
 *
 *   node --conditions=@raev2/source --import tsx examples/guidance-comparison.ts [--stage1 <run>]
 *        [--steps 600] [--batch 32] [--lr 2e-3] [--shift 1] [--nfe 16] [--cfg-scale 1.5] [--free-scale 1.3,1.78] [--auto-scale 1.5]
 *        [--parallel on|off] [--out outputs/guidance-comparison]
 *
 * Without --stage1 it first trains a small decoder (L1, 64 px) with `trainStage1`. The two DiTs train
 * at the same time in two child processes (one core each); every stage resumes from its checkpoints
 * when re-run. Writes <out>/comparison.json and prints both tables.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import {
  tf,
  initRuntime,
  parseWith,
  splitLatents,
  latentBatch,
  FeatureSet,
  generationFD,
  parseStage1Config,
  parseStage2Config,
  readMetrics,
  readStage2Checkpoint,
  loadStage2Model,
  stage2Reference,
  evaluateGeneration,
  disposeReference,
  guidanceNfePerStep,
  listCheckpoints,
  writeFileAtomic,
  METRICS_FILE,
  type GenerationMetrics,
  type GuidanceConfigInput,
  type RealReference,
  type Stage2Config,
  type Stage2Parts,
} from '@raev2/core';
import { runStage1Train, runStage2Train, resolveStage2 } from '@raev2/cli';

const scales = z.string().transform((s, ctx) => {
  const v = s.split(',').map(Number);
  if (!v.length || !v.every((x) => Number.isFinite(x) && x > 0)) ctx.addIssue({ code: 'custom', message: `"${s}" is not a comma list of positive numbers` });
  return v;
});

const Flags = z.object({
  out: z.string().default('outputs/guidance-comparison'),
  stage1: z.string().optional(),
  'stage1-steps': z.coerce.number().int().positive().default(1200),
  steps: z.coerce.number().int().positive().default(600),
  batch: z.coerce.number().int().positive().default(32),
  lr: z.coerce.number().positive().default(2e-3),
  /** Time shift; the method's sqrt(N·C/4096) is 0.61 for this 4×4×96 latent (it would shift towards LESS noise), so the default is 1 (no shift). */
  shift: z.union([z.literal('auto'), z.coerce.number().positive()]).default(1),
  /** Network evaluations per image for every sampler in the final table. */
  nfe: z.coerce.number().int().positive().refine((n) => n % 4 === 0, 'must be divisible by 4 (AutoGuidance + CFG takes nfe/4 steps)').default(16),
  /** AutoGuidance weights to compare (comma list). */
  'auto-scale': scales.default([1.5]),
  /** Guidance weights to compare (comma lists). */
  'cfg-scale': scales.default([1.5]),
  'free-scale': scales.default([1.3, 1.78]),
  /** FD-vs-step evaluations during training. */
  'metric-every': z.coerce.number().int().positive().optional(),
  'metric-count': z.coerce.number().int().positive().default(160),
  parallel: z.enum(['on', 'off']).default('on'),
  seed: z.coerce.number().int().nonnegative().default(0),
  child: z.enum(['a', 'b']).optional(),
});
type Flags = z.output<typeof Flags>;

/** Categories with distinct looks (People & Body — 60 % of the set, mostly skin-tone variants — and the 5-image Component are left out). */
const CLASSES = ['Activities', 'Animals & Nature', 'Flags', 'Food & Drink', 'Objects', 'Smileys & Emotion', 'Symbols', 'Travel & Places'];
/** Image feature space of the final table: MobileNetV2's stride-32 stage at 128 px (the 64-px emoji upsampled once). */
const MOBILENET = 'mobilenetv2-nsfwjs[stage=13-15,res=128]';

const { values } = parseArgs({ options: Object.fromEntries(Object.keys(Flags.shape).map((k) => [k, { type: 'string' as const }])) });
const flags = (() => {
  try {
    return parseWith(Flags, values, 'guidance-comparison flags');
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
})();

/** The stage-2 config of model `name`: (a) no base head, (b) base head after block 2 of 4. */
function stage2Config(f: Flags, stage1: string, name: 'a' | 'b'): Stage2Config {
  return parseStage2Config({
    stage1,
    data: 'emoji:google',
    classes: CLASSES,
    heldOut: 0.2,
    out: path.join(f.out, name === 'a' ? 'a-no-base-head' : 'b-base-head'),
    cacheDir: path.join(f.out, 'latents'),
    steps: f.steps,
    batchSize: f.batch,
    seed: f.seed,
    model: { hiddenSize: [128, 192], depth: [4, 1], numHeads: [4, 4], baseDepth: name === 'a' ? 'none' : 2 },
    optimizer: { lr: f.lr },
    transport: { shift: f.shift },
    schedule: { kind: 'cosine', warmupSteps: Math.round(f.steps / 20), finalLr: f.lr / 10 },
    checkpointEvery: Math.max(1, Math.round(f.steps / 4)),
    logEvery: 10,
    samples: { every: 0, perClass: 6, steps: f.nfe, guidance: name === 'a' ? { method: 'none' } : { method: 'free', freeScale: f['free-scale'][0] } },
    metrics: { every: f['metric-every'] ?? Math.max(1, Math.round(f.steps / 5)), count: f['metric-count'], steps: f.nfe / 2, spaces: ['latent'] },
  }, `guidance comparison model (${name})`);
}

/** The samplers of the final table at `nfe` evaluations per image (Euler steps = nfe / evaluations per step of the guidance). */
function samplers(f: Flags, hasBase: boolean, hasWeak: boolean): { name: string; steps: number; guidance: GuidanceConfigInput }[] {
  const cfg = (w: number) => ({ cfgScale: w, cfgInterval: [0, 1] as [number, number] });
  const free = (w: number) => ({ freeScale: w, freeInterval: [0.1, 1] as [number, number] });
  const auto = (w: number) => ({ autoScale: w, autoInterval: [0, 1] as [number, number] });
  const rows: { name: string; steps: number; guidance: GuidanceConfigInput }[] = [];
  const add = (name: string, guidance: GuidanceConfigInput) => rows.push({ name, steps: f.nfe / guidanceNfePerStep(guidance.method ?? 'none'), guidance });
  add('none', { method: 'none' });
  for (const w of f['cfg-scale']) add(`CFG w=${w}`, { method: 'cfg', ...cfg(w) });
  const [wf, wc, wa] = [f['free-scale'][f['free-scale'].length - 1], f['cfg-scale'][0], f['auto-scale'][0]];
  if (hasBase) {
    for (const w of f['free-scale']) add(`free w=${w}`, { method: 'free', ...free(w) });
    add(`free w=${wf} + CFG w=${wc}`, { method: 'free+cfg', ...cfg(wc), ...free(wf) });
  }
  if (hasWeak) {
    for (const w of f['auto-scale']) add(`AutoGuidance w=${w}`, { method: 'autoguidance', ...auto(w) });
    add(`AutoGuidance w=${wa} + CFG w=${wc}`, { method: 'autoguidance+cfg', ...auto(wa), ...cfg(wc) });
    if (hasBase) add(`free w=${wf} + AutoGuidance w=${wa}`, { method: 'free+autoguidance', ...free(wf), ...auto(wa) });
  }
  return rows;
}

interface FinalRow extends GenerationMetrics {
  model: string;
  sampler: string;
  eulerSteps: number;
}

/** Child: train one model, then score its EMA weights with every sampler of the final table. */
async function child(f: Flags, stage1: string, name: 'a' | 'b'): Promise<void> {
  await initRuntime({ log: false });
  const cfg = stage2Config(f, stage1, name);
  const r = await runStage2Train(cfg);
  if (r.interrupted) process.exit(130);
  const evalCfg = parseStage2Config({ ...cfg, metrics: { ...cfg.metrics, spaces: ['latent', MOBILENET], count: undefined } });
  const parts = await resolveStage2(evalCfg);
  try {
    const { reference, plan } = await stage2Reference(evalCfg, parts.parts, parts.grid, parts.channels);
    const { ckpt } = readStage2Checkpoint(cfg.out);
    const model = loadStage2Model(ckpt, plan.resolved.dit);
    // AutoGuidance's weaker model: the same run's earliest kept checkpoint (less trained)
    const earliest = listCheckpoints(cfg.out)[0]?.path;
    const weak = earliest != null && path.resolve(earliest) !== path.resolve(ckpt) ? loadStage2Model(earliest, plan.resolved.dit) : undefined;
    const rows: FinalRow[] = [];
    for (const s of samplers(f, name === 'b', weak != null)) {
      const m = evaluateGeneration(model, reference, { steps: s.steps, guidance: s.guidance, shift: plan.resolved.shift, tEps: plan.transport.tEps, seed: f.seed + 1, decode: parts.parts.decode ?? undefined, weak });
      rows.push({ model: name, sampler: s.name, eulerSteps: s.steps, ...m });
      process.stderr.write(`[${name}] ${rows[rows.length - 1].sampler}: NFE ${m.nfePerImage}, FD latent ${m.fd.latent.toFixed(3)}, FD mobilenet ${m.fd[MOBILENET].toFixed(3)}, FD_r ${m.fdr?.toFixed(3)}, probe ${(100 * m.probeAccuracy!).toFixed(1)}%\n`);
    }
    model.dispose();
    weak?.dispose();
    disposeReference(reference);
    writeFileAtomic(path.join(cfg.out, 'final.json'), JSON.stringify(rows, null, 2) + '\n');
  } finally {
    parts.dispose();
  }
}

/** FD in the MobileNetV2 space of the DECODED held-out latents vs the training images: what a perfect latent generator would score through this decoder. */
async function decoderFloor(cfg: Stage2Config, parts: Stage2Parts, grid: [number, number], ref: RealReference): Promise<number> {
  const held = await splitLatents('heldout', parts.data.heldOut!, { ...parts, grid }, { cacheDir: cfg.cacheDir!, data: cfg.data, batch: cfg.encodeBatch });
  const space = ref.spaces.find((s) => s.name === MOBILENET)!;
  const set = new FeatureSet([space]);
  for (let i = 0; i < held.count; i += 64) {
    const z = latentBatch(held, Array.from({ length: Math.min(64, held.count - i) }, (_, k) => i + k));
    const images = parts.decode!(z);
    set.update({ images });
    tf.dispose([z, images]);
  }
  return generationFD(set, ref.train).spaces[0].fd;
}

/** Run this script as a child for model `name` (same flags); resolves when it exits 0. */
function spawnChild(name: 'a' | 'b', stage1: string): Promise<void> {
  const given = Object.entries(values).filter(([k, v]) => v != null && k !== 'stage1' && k !== 'child').flatMap(([k, v]) => [`--${k}`, String(v)]);
  const args = [...process.execArgv, fileURLToPath(import.meta.url), ...given, '--stage1', stage1, '--child', name];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`model (${name}) exited with ${code}`))));
  });
}

/** Markdown table. */
function table(head: string[], rows: (string | number)[][]): string {
  const fmt = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v);
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(fmt).join(' | ')} |`)].join('\n');
}

async function main(f: Flags): Promise<void> {
  const t0 = Date.now();
  fs.mkdirSync(f.out, { recursive: true });
  let stage1 = f.stage1;
  if (stage1 == null) {
    stage1 = path.join(f.out, 'stage1');
    if (!fs.existsSync(path.join(stage1, 'stage1.json'))) {
      await initRuntime();
      process.stderr.write('stage 1: training a small decoder (L1, 64 px)\n');
      const r = await runStage1Train(parseStage1Config({
        encoder: 'mobilenetv2-nsfwjs[layers=last3]', imageSize: 64, data: 'emoji:google', heldOut: 0.1, out: stage1,
        steps: f['stage1-steps'], batchSize: 16, lr: 1e-3, finalLr: 1e-4, warmupEpochs: 0.1, ema: 0.99, seed: f.seed,
        perceptual: { weight: 0 }, gan: { enabled: false }, sampleEvery: 0, checkpointEvery: f['stage1-steps'],
      }));
      if (r.interrupted) process.exit(130);
    }
  }
  // encode the latents (and reference features) once, before the two runs share the cache
  await initRuntime({ log: false });
  const b = stage2Config(f, stage1, 'b');
  const evalCfg = parseStage2Config({ ...b, metrics: { ...b.metrics, spaces: ['latent', MOBILENET] } });
  const parts = await resolveStage2(evalCfg);
  let reconFloor: number;
  try {
    const { reference } = await stage2Reference(evalCfg, parts.parts, parts.grid, parts.channels);
    reconFloor = await decoderFloor(evalCfg, parts.parts, parts.grid, reference);
    disposeReference(reference);
  } finally {
    parts.dispose();
  }
  const tTrain = Date.now();
  if (f.parallel === 'on') await Promise.all([spawnChild('a', stage1), spawnChild('b', stage1)]);
  else for (const n of ['a', 'b'] as const) await spawnChild(n, stage1);

  const curves = (['a', 'b'] as const).map((n) => readMetrics(path.join(stage2Config(f, stage1!, n).out, METRICS_FILE)));
  const steps = [...new Set(curves.flatMap((c) => c.map((m) => m.step)))].sort((x, y) => x - y);
  const at = (c: typeof curves[0], s: number) => c.find((m) => m.step === s);
  const curveRows = steps.map((s) => [s, at(curves[0], s)?.fd.latent ?? '—', at(curves[1], s)?.fd.latent ?? '—', at(curves[0], s)?.probeAccuracy ?? '—', at(curves[1], s)?.probeAccuracy ?? '—']);
  const finals = (['a', 'b'] as const).flatMap((n) => JSON.parse(fs.readFileSync(path.join(stage2Config(f, stage1!, n).out, 'final.json'), 'utf8')) as FinalRow[]);
  const finalRows = finals.map((r) => [r.model === 'a' ? '(a) no base head' : '(b) base head', r.sampler, r.eulerSteps, r.nfePerImage, r.fd.latent, r.fd[MOBILENET], r.fdr ?? '—', r.probeAccuracy ?? '—']);
  const floor = finals[0];
  const text = [
    `FD (RAE latent space, ${curves[1][0]?.count ?? '?'} samples, unguided Euler ${f.nfe / 2} steps) and probe accuracy during training:`,
    table(['step', 'FD (a) no base head', 'FD (b) base head', 'probe acc (a)', 'probe acc (b)'], curveRows),
    '',
    `Final EMA models at ${f.nfe} network evaluations per image (${floor.count} samples). Floors: held-out images FD latent ${floor.fdHeldOut?.latent.toFixed(3)}, FD MobileNetV2 ${floor.fdHeldOut?.[MOBILENET].toFixed(3)}; decoded held-out latents (the decoder's limit) FD MobileNetV2 ${reconFloor.toFixed(3)}; real held-out probe accuracy ${floor.probeHeldOutAccuracy != null ? (100 * floor.probeHeldOutAccuracy).toFixed(1) + ' %' : '—'}:`,
    table(['model', 'guidance', 'Euler steps', 'NFE/image', 'FD latent', 'FD MobileNetV2', 'FD_r', 'probe acc'], finalRows),
    '',
    `total ${((Date.now() - t0) / 60000).toFixed(1)} min (DiT training + evaluation ${((Date.now() - tTrain) / 60000).toFixed(1)} min)`,
  ].join('\n');
  console.log(text);
  writeFileAtomic(path.join(f.out, 'comparison.json'), JSON.stringify({ flags: f, classes: CLASSES, curves, finals }, null, 2) + '\n');
  writeFileAtomic(path.join(f.out, 'comparison.md'), text + '\n');
}

if (flags.child) await child(flags, flags.stage1!, flags.child);
else await main(flags);
