/**
 * The demo's shipped checkpoint: a decoder and a DiT^DH the project trained with the demo's default
 * architecture (the command is recorded in the manifest and the README), so `npm run demo` samples at
 * once and trains only with `--train`. Exported from a finished demo run — trainable weights in fp16,
 * buffers (fixed position tables) in fp32, the latent statistics, the training logs and configs — and
 * installed into a work folder as the ordinary stage-1 run and stage-2 checkpoint the later stages
 * (and `raev2 sample`) read. Every shipped file is checked against the manifest's size and sha256.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  Ema,
  FileEntrySchema,
  createDiT,
  fileEntry,
  verifyFiles,
  diffConfig,
  latestCheckpoint,
  loadDecoder,
  loadModuleWeights,
  loadSafetensors,
  parseSafetensors,
  SafetensorsFile,
  readCheckpointState,
  readJsonFile,
  saveCheckpoint,
  saveSafetensors,
  writeFileAtomic,
  Stage2RunConfigSchema,
  STAGE1_FILES,
  STAGE2_MODULE,
  type HostTensor,
  type Module,
  type Stage1Config,
  type Stage2Config,
  type Writable,
} from '@raev2/core';
import { readStage1Summary } from '../runs/stage1.js';
import { DemoArchSchema, PlanSchema, StepCostsSchema } from './plan.js';
import { DEMO_FILES_STATS, DEMO_RUNS } from './configs.js';
import { PlanFileSchema, StateSchema, readPlanFile, readState } from './state.js';
import { DataInfoSchema, readDataInfo } from './data.js';

/** Where the checkpoint ships (inside this package, beside src/ and dist/). */
export const PRETRAINED_DIR = fileURLToPath(new URL('../../pretrained/emoji-demo/', import.meta.url));

/** The files of a shipped checkpoint. */
export const PRETRAINED_FILES = {
  manifest: 'manifest.json',
  decoder: 'decoder.safetensors',
  decoderConfig: 'decoder.config.json',
  dit: 'dit.safetensors',
  stats: 'stats.safetensors',
  stage1Stats: 'stage1.stats.safetensors',
  stage1Log: 'stage1.log.jsonl',
  stage2Log: 'stage2.log.jsonl',
  stage2Metrics: 'stage2.metrics.jsonl',
} as const;

const Json = z.record(z.string(), z.unknown());

export const PretrainedManifestSchema = z
  .object({
    format: z.literal('raev2-demo-pretrained'),
    version: z.literal(1),
    created: z.string(),
    /** The commands that trained and exported it. */
    commands: z.array(z.string()).min(1),
    /** The training run's plan file (flags key, architecture, measured costs, step counts). */
    key: PlanFileSchema.shape.key,
    arch: DemoArchSchema,
    costs: StepCostsSchema,
    plan: PlanSchema,
    /** Categories and split sizes the run trained on (a different emoji package would change them). */
    data: DataInfoSchema.pick({ classes: true, train: true, heldOut: true }),
    /** stage1.json of the decoder run (paths as trained). */
    stage1: Json,
    /** The stage-2 checkpoint's step, epoch and run config (paths as trained). */
    stage2: z.object({ step: z.number().int().positive(), epoch: z.number().int().nonnegative(), run: Json }),
    /** Wall seconds of the training run's stages. */
    trainingSeconds: z.record(z.string(), z.number().nonnegative()),
    /** The training run's own scores (fp32 weights), when it finished them: what the shipped fp16 weights must reproduce. */
    results: StateSchema.shape.results.optional(),
    files: z.record(z.string(), FileEntrySchema),
  })
  .strict();
export type PretrainedManifest = z.infer<typeof PretrainedManifestSchema>;

/** The manifest of the checkpoint in `dir` (default: the shipped one), or null when there is none. */
export function readPretrained(dir = PRETRAINED_DIR): PretrainedManifest | null {
  const f = path.join(dir, PRETRAINED_FILES.manifest);
  return fs.existsSync(f) ? readJsonFile(PretrainedManifestSchema, f) : null;
}

/**
 * `x` with the work folder in every string replaced by `<work>` (a manifest names no machine paths):
 * the folder the run was trained in (recorded in its configs; the run may have been moved since) and
 * where it is now.
 */
function withoutPaths(x: unknown, works: string[]): Record<string, unknown> {
  let json = JSON.stringify(x);
  for (const w of works) json = json.split(JSON.stringify(w).slice(1, -1)).join('<work>');
  return JSON.parse(json) as Record<string, unknown>;
}

/** Absolute paths (POSIX `/a/b…`, `~/…`, Windows `C:\…`) inside a text; an exported file must have none. */
export function absolutePaths(text: string): string[] {
  const re = /(?:^|[\s"'=:(,[])((?:\/|~\/)[\w.@+-]+(?:\/[\w.@+<>-]*)+|[A-Za-z]:\\{1,2}[\w.@+-]+(?:\\{1,2}[\w.@+-]*)*)/g;
  return [...text.matchAll(re)].map((m) => m[1]);
}

/** A safetensors file's header (its tensor table and `__metadata__`) as text. */
function safetensorsHeader(file: string): string {
  const f = SafetensorsFile.open(file);
  try {
    return JSON.stringify({ metadata: f.metadata, tensors: Object.fromEntries([...f.tensors].map(([k, t]) => [k, t.shape])) });
  } finally {
    f.close();
  }
}

/**
 * Make an exported file name no machine path: work folders become `<work>` in JSON / JSONL text and in
 * safetensors metadata (the tensor bytes are copied unchanged); then any absolute path left is an error
 * naming the file. A file without paths is left byte for byte as it is.
 */
export function stripExportPaths(file: string, works: string[]): void {
  const replace = (t: string) => works.reduce((acc, w) => acc.split(w).join('<work>'), t);
  if (file.endsWith('.safetensors')) {
    const f = SafetensorsFile.open(file);
    const metadata = { ...f.metadata };
    f.close();
    const stripped = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, replace(v)]));
    if (Object.entries(stripped).some(([k, v]) => v !== metadata[k])) {
      const { tensors } = parseSafetensors(new Uint8Array(fs.readFileSync(file)), file); // a plain array: decode copies Node Buffer views wrongly
      saveSafetensors(file, tensors, { metadata: stripped });
    }
  } else {
    const text = fs.readFileSync(file, 'utf8');
    const stripped = works.reduce((acc, w) => acc.split(JSON.stringify(w).slice(1, -1)).join('<work>'), text);
    if (stripped !== text) writeFileAtomic(file, stripped);
  }
  const left = absolutePaths(file.endsWith('.safetensors') ? safetensorsHeader(file) : fs.readFileSync(file, 'utf8'));
  if (left.length) throw new Error(`${file}: the export would ship machine paths (${[...new Set(left)].slice(0, 3).join(', ')}); a demo export names files relative to its work folder only`);
}

/** A module's state dict with trainable parameters as fp16 and buffers as fp32. */
function mixedPrecision(m: Module): Map<string, Writable> {
  const trainable = new Set(m.namedParameters().filter(([, v]) => v.trainable).map(([k]) => k));
  const out = new Map<string, Writable>();
  for (const [k, t] of m.stateDict()) {
    out.set(k, trainable.has(k) ? ({ dtype: 'F16', shape: t.shape, data: t.dataSync() as Float32Array } satisfies HostTensor) : t);
  }
  return out;
}

/**
 * Export a finished demo run (`out`, as given to `npm run demo -- --out`) to `dest`: the EMA decoder
 * and the EMA DiT of the last checkpoint, statistics, logs and a manifest. Returns the manifest.
 */
export function exportPretrained(out: string, dest: string, commands: string[]): PretrainedManifest {
  const work = path.join(out, 'work');
  const planFile = readPlanFile(work);
  if (planFile == null) throw new Error(`${out} is not a demo run (no work/plan.json)`);
  const state = readState(work);
  if (state.stages.train?.done !== true) throw new Error(`${out}: training is not finished (continue it with the same npm run demo flags first)`);
  const stage1Dir = path.join(work, DEMO_RUNS.stage1);
  const stage2Dir = path.join(work, DEMO_RUNS.stage2);
  const summary = readStage1Summary(stage1Dir);
  // the manifest keeps stage1.json as written (the parsed one adds fields that later versions default)
  const storedSummary = readJsonFile(Json, path.join(stage1Dir, STAGE1_FILES.summary));
  const ckpt = latestCheckpoint(stage2Dir);
  if (ckpt == null) throw new Error(`${stage2Dir} holds no checkpoint`);
  const ckState = readCheckpointState(ckpt);
  const run = Stage2RunConfigSchema.parse(ckState.config);
  const data = readDataInfo(work);

  fs.mkdirSync(dest, { recursive: true });
  const F = PRETRAINED_FILES;
  const decoder = loadDecoder(path.join(stage1Dir, STAGE1_FILES.decoder));
  try {
    saveSafetensors(path.join(dest, F.decoder), mixedPrecision(decoder));
  } finally {
    decoder.dispose();
  }
  fs.copyFileSync(path.join(stage1Dir, STAGE1_FILES.decoder, 'config.json'), path.join(dest, F.decoderConfig));
  const dit = createDiT(run.resolved.dit);
  try {
    loadModuleWeights(ckpt, STAGE2_MODULE, dit, { ema: true });
    saveSafetensors(path.join(dest, F.dit), mixedPrecision(dit));
  } finally {
    dit.dispose();
  }
  fs.copyFileSync(path.join(work, DEMO_FILES_STATS), path.join(dest, F.stats));
  fs.copyFileSync(path.join(stage1Dir, STAGE1_FILES.stats), path.join(dest, F.stage1Stats));
  const copyOptional = (from: string, to: string) => (fs.existsSync(from) ? fs.copyFileSync(from, to) : writeFileAtomic(to, ''));
  copyOptional(path.join(stage1Dir, 'log.jsonl'), path.join(dest, F.stage1Log));
  copyOptional(path.join(stage2Dir, 'log.jsonl'), path.join(dest, F.stage2Log));
  copyOptional(path.join(stage2Dir, 'metrics.jsonl'), path.join(dest, F.stage2Metrics));

  const works = [...new Set([path.dirname(summary.config.out), path.resolve(work)])];
  for (const f of Object.values(F)) if (f !== F.manifest) stripExportPaths(path.join(dest, f), works);
  const files = Object.fromEntries(Object.values(F).filter((f) => f !== F.manifest).map((f) => [f, fileEntry(path.join(dest, f))]));
  const manifest: PretrainedManifest = {
    format: 'raev2-demo-pretrained',
    version: 1,
    created: new Date().toISOString(),
    commands,
    key: planFile.key,
    arch: planFile.arch,
    costs: planFile.costs,
    plan: planFile.plan,
    data: { classes: data.classes, train: data.train, heldOut: data.heldOut },
    stage1: withoutPaths(storedSummary, works),
    stage2: { step: ckState.step, epoch: ckState.epoch, run: withoutPaths(run, works) },
    trainingSeconds: Object.fromEntries(Object.entries(state.stages).filter(([k]) => k === 'setup' || k === 'stats' || k === 'train').map(([k, s]) => [k, s.seconds])),
    ...(Object.keys(state.results).length ? { results: state.results } : {}),
    files,
  };
  writeFileAtomic(path.join(dest, F.manifest), JSON.stringify(PretrainedManifestSchema.parse(manifest), null, 2) + '\n');
  stripExportPaths(path.join(dest, F.manifest), works);
  return manifest;
}

/** Check every file of the manifest (present, size, sha256) before using any. */
export function verifyPretrained(m: PretrainedManifest, dir = PRETRAINED_DIR): void {
  verifyFiles(dir, m.files, 'the demo checkpoint (restore it with git checkout, or pass --train)', path.join(dir, PRETRAINED_FILES.manifest));
}

/** Throw when `current` differs from `saved` outside the path fields (the checkpoint belongs to other settings). */
function assertSameSettings(saved: unknown, current: unknown, ignore: string[], what: string): void {
  const d = diffConfig(saved, current, ignore);
  if (d.length) throw new Error(`the shipped demo checkpoint was trained with another ${what} (${d.slice(0, 5).map((x) => `${x.path}: ${JSON.stringify(x.saved)} vs ${JSON.stringify(x.current)}`).join('; ')}); pass --train to train with the current code`);
}

/**
 * Install the checkpoint of `dir` into a demo work folder as the finished runs `cfg1` (decoder,
 * statistics, log) and `cfg2` (one checkpoint at the trained step, EMA = weights, metrics log), after
 * checking that they are the configs it was trained with (paths aside).
 */
export function installPretrained(m: PretrainedManifest, dir: string, cfg1: Stage1Config, cfg2: Stage2Config): void {
  verifyPretrained(m, dir);
  const F = PRETRAINED_FILES;
  // paths differ by machine; the sampling and metric settings follow the current flags
  const s1 = m.stage1 as { config: Record<string, unknown> };
  // a GAN that is off in both has no settings that matter (its options gained fields since the export)
  const ganOff = (s1.config.gan as { enabled?: boolean } | undefined)?.enabled === false && !cfg1.gan.enabled;
  // a config saved before stage 1 had an EMA warm-up trained without one
  assertSameSettings({ emaWarmup: false, ...s1.config }, cfg1, ['data', 'out', ...(ganOff ? ['gan'] : [])], 'decoder config');
  const run = Stage2RunConfigSchema.parse(m.stage2.run);
  assertSameSettings(run.config, cfg2, ['data', 'out', 'stats', 'samples', 'metrics'], 'DiT config');
  const statsFile = cfg2.stats!;
  fs.mkdirSync(path.dirname(statsFile), { recursive: true });
  fs.copyFileSync(path.join(dir, F.stats), statsFile);

  // stage 1: decoder/ (config + weights), statistics, log, stage1.json with this work folder's paths
  const decDir = path.join(cfg1.out, STAGE1_FILES.decoder);
  fs.mkdirSync(decDir, { recursive: true });
  fs.copyFileSync(path.join(dir, F.decoderConfig), path.join(decDir, 'config.json'));
  fs.copyFileSync(path.join(dir, F.decoder), path.join(decDir, 'model.safetensors'));
  loadDecoder(decDir).dispose(); // strict load: fails here, naming the tensor, if the weights do not fit
  fs.copyFileSync(path.join(dir, F.stage1Stats), path.join(cfg1.out, STAGE1_FILES.stats));
  fs.copyFileSync(path.join(dir, F.stage1Log), path.join(cfg1.out, 'log.jsonl'));

  // stage 2: a checkpoint at the trained step (model and EMA both hold the EMA weights; no optimiser state)
  const dit = createDiT(run.resolved.dit);
  try {
    const sd = loadSafetensors(path.join(dir, F.dit));
    try {
      dit.loadStateDict(sd, { source: path.join(dir, F.dit) });
    } finally {
      for (const t of sd.values()) t.dispose();
    }
    const ema = new Ema(dit);
    try {
      // the config as trained, with this work folder's paths
      const config = { ...run.config, data: cfg2.data, out: cfg2.out, stats: cfg2.stats };
      saveCheckpoint(cfg2.out, { step: m.stage2.step, epoch: m.stage2.epoch, config: { config, resolved: run.resolved }, extra: { pretrained: true }, modules: { [STAGE2_MODULE]: dit }, ema }, { keep: 1 });
    } finally {
      ema.dispose();
    }
  } finally {
    dit.dispose();
  }
  fs.copyFileSync(path.join(dir, F.stage2Log), path.join(cfg2.out, 'log.jsonl'));
  fs.copyFileSync(path.join(dir, F.stage2Metrics), path.join(cfg2.out, 'metrics.jsonl'));
  // last: the summary marks the stage-1 run finished
  writeFileAtomic(path.join(cfg1.out, STAGE1_FILES.summary), JSON.stringify({ ...m.stage1, config: { ...s1.config, data: cfg1.data, out: cfg1.out } }, null, 2) + '\n');
}
