/**
 * The T2I demo's shipped checkpoint (packages/cli/pretrained/t2i-demo): the offline text tower (HF
 * folder, fp32, tiny), the stage-1 decoder and the text-conditioned DiT^DH (EMA weights in fp16),
 * the latent statistics, the run record and a manifest with sizes, sha256 and the commands that
 * made it. Every shipped file is checked against the manifest before use.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  FileEntrySchema, fileEntry, verifyFiles, readJsonFile, writeFileAtomic, saveSafetensors, loadDecoder, loadStage2Model, resolveCheckpoint, readCheckpointState,
  DiTConfigSchema, createDiT, loadSafetensors, type Module, type Writable, type HostTensor, type DiTConfig, type DiTModel,
} from '@raev2/core';
import { readT2IRun, T2IRunSchema, t2iModelOf, type T2IModel } from '@raev2/t2i';

export const T2I_PRETRAINED_DIR = fileURLToPath(new URL('../../../pretrained/t2i-demo/', import.meta.url));

const TOWER_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'image_head.safetensors'];

export const T2IManifestSchema = z
  .object({
    format: z.literal('raev2-t2i-demo-pretrained'),
    version: z.literal(1),
    created: z.string(),
    commands: z.array(z.string()),
    dit: DiTConfigSchema,
    shift: z.number().positive(),
    step: z.number().int().nonnegative(),
    /** The run record (t2i.json) with the statistics path relative to this folder. */
    run: T2IRunSchema,
    files: z.record(z.string(), FileEntrySchema),
  })
  .strict();
export type T2IManifest = z.infer<typeof T2IManifestSchema>;

/** Trainable float weights in fp16, buffers as they are. */
function fp16(m: Module): Map<string, Writable> {
  const trainable = new Set(m.namedParameters().filter(([, v]) => v.trainable).map(([k]) => k));
  const out = new Map<string, Writable>();
  for (const [k, t] of m.stateDict()) out.set(k, trainable.has(k) && t.dtype === 'float32' ? ({ dtype: 'F16', shape: t.shape, data: t.dataSync() as Float32Array } satisfies HostTensor) : t);
  return out;
}

/** Export a tower folder, a decoder folder and a t2i run (its latest checkpoint, or the checkpoint folder given; EMA) into `dest`. */
export function exportT2IPretrained(o: { tower: string; decoder: string; run: string }, dest: string, commands: string[]): T2IManifest {
  fs.mkdirSync(path.join(dest, 'tower'), { recursive: true });
  fs.mkdirSync(path.join(dest, 'decoder'), { recursive: true });
  for (const f of TOWER_FILES) fs.copyFileSync(path.join(o.tower, f), path.join(dest, 'tower', f));
  const dec = loadDecoder(o.decoder);
  try {
    saveSafetensors(path.join(dest, 'decoder', 'model.safetensors'), fp16(dec));
  } finally {
    dec.dispose();
  }
  fs.copyFileSync(path.join(o.decoder, 'config.json'), path.join(dest, 'decoder', 'config.json'));
  const ckpt = resolveCheckpoint(o.run);
  const state = readCheckpointState(ckpt);
  const saved = z.object({ dit: DiTConfigSchema, shift: z.number() }).loose().parse(state.config);
  const model = loadStage2Model(ckpt, saved.dit);
  try {
    saveSafetensors(path.join(dest, 'dit.safetensors'), fp16(model));
  } finally {
    model.dispose();
  }
  const run = readT2IRun(fs.existsSync(path.join(o.run, 'state.json')) ? path.dirname(o.run) : o.run); // a checkpoint folder's run
  fs.copyFileSync(run.stats, path.join(dest, 'stats.safetensors'));
  const shippedRun = { ...run, textEncoder: 'hf:tower', stats: 'stats.safetensors' };
  const names = [...TOWER_FILES.map((f) => `tower/${f}`), 'decoder/config.json', 'decoder/model.safetensors', 'dit.safetensors', 'stats.safetensors'];
  const manifest: T2IManifest = {
    format: 'raev2-t2i-demo-pretrained', version: 1, created: new Date().toISOString(), commands, dit: saved.dit, shift: saved.shift, step: state.step,
    run: shippedRun, files: Object.fromEntries(names.map((n) => [n, fileEntry(path.join(dest, n))])),
  };
  writeFileAtomic(path.join(dest, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/** The shipped manifest (null when there is none), its files verified. */
export function readT2IPretrained(dir = T2I_PRETRAINED_DIR): T2IManifest | null {
  const f = path.join(dir, 'manifest.json');
  if (!fs.existsSync(f)) return null;
  const m = readJsonFile(T2IManifestSchema, f);
  verifyFiles(dir, m.files, 'the T2I demo checkpoint', f);
  return m;
}

/** The shipped model for generation (paths of the run record resolved inside `dir`). */
export async function loadT2IPretrained(m: T2IManifest, dir = T2I_PRETRAINED_DIR): Promise<{ model: T2IModel; tower: string; decoder: string }> {
  const run = { ...m.run, textEncoder: `hf:${path.join(dir, 'tower')}`, stats: path.join(dir, 'stats.safetensors') };
  const dit: DiTModel = createDiT(m.dit as DiTConfig);
  const sd = loadSafetensors(path.join(dir, 'dit.safetensors'));
  try {
    dit.loadStateDict(sd, { source: path.join(dir, 'dit.safetensors') });
  } catch (e) {
    dit.dispose();
    throw e;
  } finally {
    for (const t of sd.values()) t.dispose();
  }
  return { model: await t2iModelOf(run, dit.eval(), m.shift, m.step), tower: path.join(dir, 'tower'), decoder: path.join(dir, 'decoder') };
}
