/**
 * `npm run demo`: class-conditional emoji generation end to end, offline, as a sequence of stages
 *   setup (data, budget plan) → latent statistics → decoder [+ K sweep] ∥ DiT^DH (one core each; in
 *   sequence on one core) → decoder eval → evaluation (trained vs untrained) → samples → report
 * By default the statistics, decoder and DiT come from the shipped checkpoint (`pretrained.ts`) and the
 * training stages only install it; `--train` (or a flag that changes the models) trains them here.
 * Each stage records its wall time and completion in `work/state.json`; a re-run skips complete
 * stages and resumes an interrupted training stage from its last checkpoint (Ctrl-C checkpoints).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  tf,
  initRuntime,
  probeLatent,
  wasmThreadsInUse,
  formatDuration,
  readMetrics,
  readStage2Checkpoint,
  resolveDiTConfig,
  createDiT,
  latestCheckpoint,
  readCheckpointState,
  writeFileAtomic,
  UsageError,
  METRICS_FILE,
  STAGE1_FILES,
  type DiTConfig,
  type MetricsRecord,
} from '@raev2/core';
import { loadEncoder, withResolution } from '@raev2/encoders';
import { readStage1Summary, resolveStage1, runStage1Eval } from '../runs/stage1.js';
import type { DemoFlags } from './flags.js';
import { readDataInfo, writeDataInfo, writeDemoManifest, type DataInfo } from './data.js';
import { DEFAULT_ARCH, QUICK_ARCH, formatPlan, planDemo, type DemoArch, type Plan } from './plan.js';
import { calibrate } from './calibrate.js';
import { computeLatentStats, decoderImageSize, trainBoth } from './train.js';
import { DEMO_RUNS, demoStage1Config, demoStage2Config, featureSpec, freeGuidance, type ConfigInput } from './configs.js';
import { evaluateFinal } from './evaluate.js';
import { readLogRecords, writeReconstructions, writeSampleGrid } from './outputs.js';
import { DemoMetricsSchema, fdCurve, generationScore, renameSpaces, type DemoMetrics, type GenerationScore } from './metrics.js';
import { renderReport } from './report.js';
import { PRETRAINED_DIR, installPretrained, readPretrained, type PretrainedManifest } from './pretrained.js';
import { DEMO_FILES, readPlanFile, readState, removeDemoRun, writePlanFile, writeState, type DemoState, type PlanFile } from './state.js';

export interface DemoResult {
  out: string;
  /** True when Ctrl-C stopped a training stage (run again to continue). */
  interrupted: boolean;
  metrics?: DemoMetrics;
  files: Record<'samples' | 'reconstructions' | 'metrics' | 'report', string>;
}

const STAGES = ['setup', 'stats', 'train', 'decoderEval', 'evaluation', 'samples', 'report'] as const;
type StageName = (typeof STAGES)[number];

/** The flags that shape the trained models: a re-run with other values must start over. */
function planKey(f: DemoFlags, pretrained: boolean): PlanFile['key'] {
  return { pretrained, quick: f.quick, budget: f.budget ?? null, perceptual: f.perceptual ?? null, seed: f.seed, classes: f.classes ?? null, skinTones: f['skin-tones'], gan: f.gan, kSweep: f['k-sweep'], decoderSteps: f['decoder-steps'] ?? null, ditSteps: f['dit-steps'] ?? null };
}

/** Key fields that a shipped checkpoint must share with the flags to stand in for training. */
const MODEL_KEYS = ['quick', 'perceptual', 'seed', 'classes', 'skinTones', 'gan', 'kSweep'] as const;

/**
 * The shipped checkpoint when the flags ask for nothing it cannot give (no --train, no budget or step
 * counts, the same model-shaping flags as its training run); else null, with the reason logged.
 */
function pickPretrained(f: DemoFlags, log: (s: string) => void): PretrainedManifest | null {
  if (f.train || f.quick || f.budget != null || f['decoder-steps'] != null || f['dit-steps'] != null) return null;
  const m = readPretrained();
  if (m == null) {
    log(`no shipped checkpoint in ${PRETRAINED_DIR}: training here`);
    return null;
  }
  const key = planKey(f, true);
  const differ = MODEL_KEYS.filter((k) => JSON.stringify(m.key[k] ?? null) !== JSON.stringify(key[k]));
  if (differ.length) {
    log(`the shipped checkpoint was trained with other settings (${differ.map((k) => `${k}: ${JSON.stringify(m.key[k])}`).join(', ')}): training here`);
    return null;
  }
  return m;
}

/** Run (or continue) the demo; see the file comment. */
export async function runDemo(flags: DemoFlags, log: (s: string) => void = (s) => process.stderr.write(s + '\n')): Promise<DemoResult> {
  const t0 = performance.now();
  const out = path.resolve(flags.out);
  const work = path.join(out, 'work');
  const files = { samples: path.join(out, DEMO_FILES.samples), reconstructions: path.join(out, DEMO_FILES.reconstructions), metrics: path.join(out, DEMO_FILES.metrics), report: path.join(out, DEMO_FILES.report) };
  if (flags.fresh) removeDemoRun(out);
  const pretrained = pickPretrained(flags, log);
  const key = planKey(flags, pretrained != null);
  const prior = readPlanFile(work);
  if (prior && JSON.stringify(prior.key) !== JSON.stringify(key)) {
    const diff = Object.keys(key).filter((k) => JSON.stringify(prior.key[k]) !== JSON.stringify(key[k])).map((k) => `${k}: ${JSON.stringify(prior.key[k])} → ${JSON.stringify(key[k])}`);
    throw new UsageError(`${out} holds a demo run made with other flags (${diff.join(', ')}); pass --fresh to start over, or repeat the original flags to continue it`);
  }
  fs.mkdirSync(work, { recursive: true });
  // training: one thread per process by default, so the decoder and the DiT train side by side, one core each
  const threads = flags.threads === 'auto' ? Math.max(1, Math.min(8, os.cpus().length)) : flags.threads ?? (pretrained == null && process.env.RAEV2_WASM_THREADS == null ? 1 : undefined);
  const backend = await initRuntime(threads != null ? { threads } : {});
  // two single-threaded processes (decoder ∥ DiT) when there are two cores and wasm runs one thread
  const parallel = os.cpus().length >= 2 && wasmThreadsInUse() === 1 && process.env.RAEV2_DEMO_SEQUENTIAL !== '1';
  const state = readState(work);
  const mode: PlanFile['mode'] = pretrained ? 'pretrained' : flags.quick ? 'quick' : flags.budget != null ? 'budget' : 'default';
  const base = pretrained?.arch ?? (flags.quick ? QUICK_ARCH : DEFAULT_ARCH);
  const arch: DemoArch = prior?.arch ?? (flags.perceptual != null ? { ...base, decoder: { ...base.decoder, perceptual: flags.perceptual } } : base);
  const budgetSec = 60 * (flags.budget ?? (flags.quick ? 4 : 20));
  const sampleSteps = flags['sample-steps'] ?? (flags.quick ? 25 : 50);

  const save = () => writeState(work, state);
  const isDone = (s: StageName, sig = '') => state.stages[s]?.done === true && state.stages[s].sig === (sig || undefined);
  let planFile: PlanFile | null = prior;
  const estimate = (s: StageName) => planFile?.plan.estimates[s] ?? 0;
  /** Run one stage, adding its wall time to the state; `fn` returns false when interrupted. */
  const stage = async (s: StageName, fn: () => Promise<boolean>, sig = ''): Promise<boolean> => {
    if (isDone(s, sig)) return true;
    const i = STAGES.indexOf(s) + 1;
    const left = STAGES.slice(i - 1).filter((x) => x === s || state.stages[x]?.done !== true).reduce((a, x) => a + estimate(x), 0);
    log(`\n── demo ${i}/${STAGES.length}: ${s}${planFile ? ` (≈ ${formatDuration(estimate(s))}; ≈ ${formatDuration(left)} left in total)` : ''}`);
    const start = performance.now();
    let ok = false;
    try {
      ok = await fn();
    } finally {
      const rec = state.stages[s] ?? { seconds: 0, done: false };
      rec.seconds += (performance.now() - start) / 1000;
      rec.done = ok;
      if (sig) rec.sig = sig;
      state.stages[s] = rec;
      save();
    }
    return ok;
  };
  const interrupted = (): DemoResult => {
    log(`\nstopped; run the same command again to continue from the last checkpoint (${out})`);
    return { out, interrupted: true, files };
  };

  // ---- setup: data manifest, budget plan (calibrated on this machine)
  const cfgInput = (plan: Plan, d: { source: string; train: number }): ConfigInput => ({ arch, plan, data: d.source, work, trainImages: d.train, seed: flags.seed, gan: flags.gan === 'on', guidanceScale: flags['guidance-scale'], sampleSteps });
  await stage('setup', async () => {
    if (planFile) return true;
    const data = writeDemoManifest(work, { classes: flags.classes?.split(',').map((c) => c.trim()).filter(Boolean), skinTones: flags['skin-tones'] === 'on', maxPerClass: arch.maxPerClass ?? undefined });
    log(`data: ${data.total} emoji in ${data.classes.length} categories (${data.classes.map((c) => `${c.name} ${c.count}`).join(', ')})${data.dropped.length ? `; dropped ${data.dropped.map((c) => `${c.name} (${c.count})`).join(', ')}` : ''}`);
    if (pretrained) {
      // the same images as the checkpoint's training run → the same seeded split; no calibration needed
      const same = (a: { name: string; count: number }[], b: { name: string; count: number }[]) => JSON.stringify(a.map((c) => [c.name, c.count])) === JSON.stringify(b.map((c) => [c.name, c.count]));
      if (!same(data.classes, pretrained.data.classes)) throw new UsageError(`the installed emoji package holds other images than the shipped checkpoint was trained on (${pretrained.data.classes.map((c) => `${c.name} ${c.count}`).join(', ')}); pass --train to train on these`);
      const p = pretrained.plan;
      const estimates = { ...p.estimates, stats: 1, train: 3 };
      const plan: Plan = { ...p, estimates, totalSec: Object.values(estimates).reduce((a, b) => a + b, 0) };
      planFile = { format: 'raev2-demo-plan', mode, key, arch, costs: pretrained.costs, plan };
      writeDataInfo(work, { ...data, train: pretrained.data.train, heldOut: pretrained.data.heldOut, skinTones: flags['skin-tones'] === 'on' });
      writePlanFile(work, planFile);
      return true;
    }
    const provisional: Plan = { budgetSec, parallel: false, decoderSteps: 1, ditSteps: 1, metricEvery: 1, metricCount: 2, estimates: {}, decoderSec: 0, ditSec: 0, totalSec: 0, overBudget: false };
    const c1 = demoStage1Config(cfgInput(provisional, { source: data.source, train: data.total }));
    const resolved = await resolveStage1(c1);
    try {
      const { parts, train, heldOut } = resolved;
      const dit = resolveDiTConfig(demoStage2Config(cfgInput(provisional, { source: data.source, train: train.size }), 'train'), probeLatent(parts.encoder, parts.selection), data.classes.length, 'demo DiT');
      const features = (await loadEncoder(featureSpec(arch))).encoder;
      let costs;
      try {
        log('measuring step costs on this machine …');
        costs = calibrate({ stage1: c1, parts, dit, ditBatch: arch.dit.batch, features, gan: flags.gan === 'on' });
      } finally {
        features.dispose();
      }
      const plan = planDemo({ arch, budgetSec, costs, trainImages: train.size, heldOutImages: heldOut?.size ?? 0, numClasses: data.classes.length, samplesPerClass: flags['per-class'], sampleSteps, gan: flags.gan === 'on', kSweep: flags['k-sweep'], parallel, decoderSteps: flags['decoder-steps'], ditSteps: flags['dit-steps'] });
      planFile = { format: 'raev2-demo-plan', mode, key, arch, costs, plan };
      writeDataInfo(work, { ...data, train: train.size, heldOut: heldOut?.size ?? 0, skinTones: flags['skin-tones'] === 'on' });
      writePlanFile(work, planFile);
    } finally {
      resolved.dispose();
    }
    return true;
  });
  const pf = planFile as PlanFile | null;
  if (pf == null) throw new Error(`${work} has no ${DEMO_FILES.plan}; pass --fresh to start over`);
  log(pretrained ? pretrainedSummary(pretrained) : formatPlan(pf.plan, arch));
  const dataInfo = readDataInfo(work);
  const ci = cfgInput(pf.plan, { source: dataInfo.source, train: dataInfo.train });
  const cfg1 = demoStage1Config(ci);
  const cfg2 = demoStage2Config(ci, 'train');
  const cfgEval = demoStage2Config(ci, 'eval');
  const stage1Dir = cfg1.out;
  const statsFile = cfg2.stats!;

  // ---- latent statistics: per position and channel, noise-free Welford over the training images
  await stage('stats', async () => {
    if (pretrained) return true; // installed with the runs (the statistics the DiT was trained with)
    const n = await computeLatentStats(cfg1, statsFile);
    log(`latent statistics of ${n} training images → ${statsFile}`);
    return true;
  });

  // ---- decoder(s) and DiT^DH (with the base head), at the same time on two cores
  const imageSize = await decoderOutputSize(cfg1);
  const sweepKs = flags['k-sweep'] ? [1, 2] : [];
  const sweepCfgs = sweepKs.map((k) => demoStage1Config(ci, { encoder: arch.encoder.replace(/last\d+/, `last${k}`), dir: DEMO_RUNS.sweep(k) }));
  const ditDone = () => stage2Step(cfg2.out) >= pf.plan.ditSteps;
  const onMetrics = (m: MetricsRecord) => log(`\nDiT step ${m.step}: FD ${Object.entries(m.fd).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}${m.probeAccuracy != null ? `, probe accuracy ${(100 * m.probeAccuracy).toFixed(1)} %` : ''}`);
  const install = async () => {
    installPretrained(pretrained!, PRETRAINED_DIR, cfg1, cfg2);
    log(`installed the shipped decoder (${pf.plan.decoderSteps} steps) and DiT^DH (${pf.plan.ditSteps} steps) into ${work}`);
    return true;
  };
  if (!(await stage('train', () => (pretrained ? install() : trainBoth({ decoders: [cfg1, ...sweepCfgs], cfg2, imageSize, work, parallel: pf.plan.parallel, ditDone, log, onMetrics }))))) return interrupted();

  // ---- decoder evaluation on held-out images: PSNR, SSIM, rFD (+ the K sweep), reconstructions.png
  await stage('decoderEval', async () => {
    const evalRun = async (run: string) => {
      const s = await runStage1Eval({ run, features: featureSpec(arch), batch: 32 });
      return { images: s.count, psnr: s.psnr, ssim: s.ssim, ...(s.rfd != null ? { rfd: s.rfd } : {}) };
    };
    state.results.decoder = await evalRun(stage1Dir);
    if (sweepKs.length) {
      const main = readStage1Summary(stage1Dir);
      const sweep = [];
      for (const k of sweepKs) {
        const run = path.join(work, DEMO_RUNS.sweep(k));
        sweep.push({ k, layers: readStage1Summary(run).selection.layers, ...(await evalRun(run)) });
      }
      sweep.push({ k: main.selection.layers.length, layers: main.selection.layers, ...state.results.decoder });
      state.results.kSweep = sweep;
    }
    await writeReconstructions(stage1Dir, files.reconstructions);
    const d = state.results.decoder;
    log(`decoder on held-out images: PSNR ${d.psnr.toFixed(2)} dB, SSIM ${d.ssim.toFixed(4)}, rFD ${d.rfd?.toFixed(3) ?? '—'}`);
    return true;
  });

  // ---- trained vs untrained (re-done when the guidance weight changes)
  const gsig = `w=${flags['guidance-scale']}`;
  await stage('evaluation', async () => {
    const g = await evaluateFinal(cfgEval, freeGuidance(flags['guidance-scale']));
    state.results.generation = { trained: generationScore(g.trained), trainedUnguided: generationScore(g.trainedUnguided), untrained: generationScore(g.untrained) };
    return true;
  }, gsig);

  // ---- samples_grid.png
  await stage('samples', async () => {
    const nfe = await writeSampleGrid({ ckpt: cfg2.out, stage1: stage1Dir, stats: statsFile }, path.join(work, DEMO_RUNS.samples), files.samples, { guidanceScale: flags['guidance-scale'], steps: sampleSteps, perClass: flags['per-class'], seed: flags.seed }, log);
    log(`samples: ${nfe} network evaluations per image`);
    return true;
  }, `${gsig},steps=${sampleSteps},per=${flags['per-class']}`);

  // ---- metrics.json and report.html
  let metrics: DemoMetrics | undefined;
  await stage('report', async () => {
    metrics = assembleMetrics({ flags, mode, planFile: pf, state, cfg1, cfg2: cfgEval, backend, dataInfo, featureName: featureSpec(arch), pretrained });
    writeFileAtomic(files.metrics, JSON.stringify(metrics, null, 2) + '\n');
    const html = renderReport({ metrics, images: { samples: files.samples, reconstructions: files.reconstructions }, decoderLog: readLogRecords(path.join(stage1Dir, 'log.jsonl')), ditLog: readLogRecords(path.join(cfg2.out, 'log.jsonl')) });
    writeFileAtomic(files.report, html);
    return true;
  }, `${Date.now()}`); // always rewritten: it carries the timings
  log(`\ndone in ${formatDuration((performance.now() - t0) / 1000)} (all runs: ${formatDuration(metrics!.timings.totalSec)}): ${files.samples}, ${files.reconstructions}, ${files.metrics}, ${files.report}`);
  summarize(metrics!, log);
  return { out, interrupted: false, metrics, files };
}

/** What the shipped checkpoint is, in one line (instead of a budget plan). */
function pretrainedSummary(m: PretrainedManifest): string {
  const sec = Object.values(m.trainingSeconds).reduce((a, b) => a + b, 0);
  return `using the shipped checkpoint: decoder ${m.plan.decoderSteps} steps × ${m.arch.decoder.batch}, DiT^DH ${m.plan.ditSteps} steps × ${m.arch.dit.batch}, trained in ${formatDuration(sec)} by \`${m.commands[0]}\` (npm run demo -- --train trains here instead)`;
}

/** Completed steps of a stage-2 run (0 without a checkpoint). */
function stage2Step(dir: string): number {
  const ckpt = latestCheckpoint(dir);
  return ckpt ? readCheckpointState(ckpt).step : 0;
}

/** Side of the decoder output for a stage-1 config (probing the encoder). */
async function decoderOutputSize(cfg: ReturnType<typeof demoStage1Config>): Promise<[number, number]> {
  const { encoder, selection } = await loadEncoder(withResolution(cfg.encoder, cfg.imageSize));
  try {
    return decoderImageSize(cfg, probeLatent(encoder, selection).grid, encoder.patchSize);
  } finally {
    encoder.dispose();
  }
}


/** Last part of a long feature-space name (an encoder spec) for console lines. */
function short(name: string): string {
  return name.startsWith('mobilenetv2') ? 'mobilenetv2' : name;
}

function packageVersion(rel: string): string {
  try {
    return (JSON.parse(fs.readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}

interface AssembleInput {
  flags: DemoFlags;
  mode: PlanFile['mode'];
  planFile: PlanFile;
  state: DemoState;
  cfg1: ReturnType<typeof demoStage1Config>;
  cfg2: ReturnType<typeof demoStage2Config>;
  backend: string;
  dataInfo: DataInfo;
  featureName: string;
  pretrained: PretrainedManifest | null;
}

/** metrics.json from the state's results and the runs' files (validated before it is written). */
function assembleMetrics(a: AssembleInput): DemoMetrics {
  const { state, planFile: pf } = a;
  const names = { [a.featureName]: 'mobilenetv2' };
  const res = state.results;
  if (!res.decoder || !res.generation) throw new Error('the evaluation results are missing from state.json; pass --fresh to start over');
  const s1 = readStage1Summary(a.cfg1.out);
  const { run, step } = readStage2Checkpoint(a.cfg2.out);
  const ditParams = countParameters(run.resolved.dit);
  const gen = res.generation;
  const rn = (g: GenerationScore) => renameSpaces(g, names);
  const records = readMetrics(path.join(a.cfg2.out, METRICS_FILE)).map((r) => renameSpaces(r, names));
  const stages = Object.fromEntries(STAGES.filter((s) => state.stages[s]).map((s) => [s, state.stages[s].seconds]));
  const metrics: DemoMetrics = {
    format: 'raev2-demo-metrics',
    version: 1,
    created: new Date().toISOString(),
    mode: a.mode,
    ...(a.pretrained ? { pretrained: { commands: a.pretrained.commands, created: a.pretrained.created, trainingSeconds: a.pretrained.trainingSeconds } } : {}),
    data: { source: `emoji-datasource-google ${packageVersion('../../../../node_modules/emoji-datasource-google/package.json')} (64-px PNGs)`, classes: a.dataInfo.classes, dropped: a.dataInfo.dropped, trainImages: a.dataInfo.train, heldOutImages: a.dataInfo.heldOut, skinTones: a.dataInfo.skinTones },
    latent: { encoder: s1.config.encoder, layers: s1.selection.layers, grid: s1.grid, channels: s1.channels, imageSize: s1.imageSize[0], encoderRes: s1.config.imageSize ?? s1.imageSize[0], statsImages: s1.trainImages },
    decoder: { steps: s1.steps, heldOut: res.decoder, ...(res.kSweep ? { kSweep: res.kSweep } : {}) },
    generation: { ditSteps: step, parameters: ditParams, shift: run.resolved.shift, trained: rn(gen.trained), trainedUnguided: rn(gen.trainedUnguided), untrained: rn(gen.untrained), overTraining: fdCurve(rn(gen.untrained), records, rn(gen.trained), step) },
    timings: { stages, totalSec: Object.values(stages).reduce((x, y) => x + y, 0), budgetSec: pf.plan.budgetSec, plannedSec: pf.plan.totalSec },
    config: { flags: a.flags, arch: pf.arch, plan: pf.plan, costs: pf.costs, stage1: a.cfg1, stage2: a.cfg2 },
    versions: { raev2: packageVersion('../../package.json'), node: process.version, tfjs: tf.version.tfjs, backend: a.backend, threads: wasmThreadsInUse(), platform: `${process.platform}-${process.arch}`, cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}` },
  };
  return DemoMetricsSchema.parse(metrics);
}

function countParameters(dit: DiTConfig): number {
  const m = createDiT(dit, 0);
  try {
    return m.numParameters();
  } finally {
    m.dispose();
  }
}

/** Trained vs untrained in two lines. */
function summarize(m: DemoMetrics, log: (s: string) => void): void {
  const g = m.generation;
  const line = (name: string, s: GenerationScore) => `  ${name.padEnd(20)} ${Object.entries(s.fd).map(([k, v]) => `FD ${k} ${v.toFixed(3)}`).join(', ')}${s.fdr != null ? `, FD_r ${s.fdr.toFixed(2)}` : ''}${s.probeAccuracy != null ? `, probe accuracy ${(100 * s.probeAccuracy).toFixed(1)} %` : ''}`;
  log(line('untrained DiT', g.untrained));
  log(line('trained, unguided', g.trainedUnguided));
  log(line(`trained, ${g.trained.guidance}`, g.trained));
  log(`  decoder (held-out)   PSNR ${m.decoder.heldOut.psnr.toFixed(2)} dB, SSIM ${m.decoder.heldOut.ssim.toFixed(4)}${m.decoder.heldOut.rfd != null ? `, rFD ${m.decoder.heldOut.rfd.toFixed(3)}` : ''}`);
}
