/**
 * A self-contained navworld model folder (what the demo ships): `dit.safetensors` (EMA weights,
 * fp16) + `dit.config.json`, `decoder.safetensors` (fp16) + `decoder.config.json`,
 * `stats.safetensors` (the latent statistics [N, C]), `navworld.json` (condition, action scale, shift,
 * world spec) and `manifest.json` (sizes + sha256 of every file, the commands that made it, scores).
 * Loading checks every checksum first.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { createDiT, createRAE, fileEntry, FileEntrySchema, loadSafetensors, parseDiTConfig, readJsonFile, saveSafetensors, verifyFiles, writeFileAtomic, loadDecoder, type DiTModel, type RAE, type LatentStats } from '@raev2/core';
import { loadEncoder, withResolution } from '@raev2/encoders';
import '../condition/register.js';
import { NavRunInfoSchema, type NavRunInfo } from '../train/train.js';
import type { NavModel } from './load.js';

export const EXPORT_FILES = { dit: 'dit.safetensors', ditConfig: 'dit.config.json', decoder: 'decoder.safetensors', decoderConfig: 'decoder.config.json', stats: 'stats.safetensors', info: 'navworld.json', manifest: 'manifest.json' } as const;

export const ExportManifestSchema = z.object({
  format: z.literal('raev2-navworld-model'),
  version: z.literal(1),
  files: z.record(z.string(), FileEntrySchema),
  commands: z.array(z.string()),
  source: z.record(z.string(), z.string()),
  scores: z.unknown().optional(),
}).strict();
export type ExportManifest = z.infer<typeof ExportManifestSchema>;

/** Write a model folder from a loaded model, RAE and latent statistics; fp16 weights. */
export function exportNavModel(to: string, m: NavModel, rae: RAE, stats: LatentStats, o: { commands: string[]; source: Record<string, string>; scores?: unknown }): ExportManifest {
  fs.mkdirSync(to, { recursive: true });
  const info: NavRunInfo = { ...m.info, latents: '' };
  saveSafetensors(path.join(to, EXPORT_FILES.dit), m.dit.stateDict(), { floatDtype: 'F16' });
  writeFileAtomic(path.join(to, EXPORT_FILES.ditConfig), JSON.stringify(m.dit.config, null, 2) + '\n');
  saveSafetensors(path.join(to, EXPORT_FILES.decoder), rae.decoder.stateDict(), { floatDtype: 'F16' });
  writeFileAtomic(path.join(to, EXPORT_FILES.decoderConfig), JSON.stringify(rae.decoder.config, null, 2) + '\n');
  saveSafetensors(path.join(to, EXPORT_FILES.stats), { mean: stats.mean!, var: stats.var });
  writeFileAtomic(path.join(to, EXPORT_FILES.info), JSON.stringify(info, null, 2) + '\n');
  const files = Object.fromEntries([EXPORT_FILES.dit, EXPORT_FILES.ditConfig, EXPORT_FILES.decoder, EXPORT_FILES.decoderConfig, EXPORT_FILES.stats, EXPORT_FILES.info].map((f) => [f, fileEntry(path.join(to, f))]));
  const manifest: ExportManifest = { format: 'raev2-navworld-model', version: 1, files, commands: o.commands, source: o.source, ...(o.scores !== undefined ? { scores: o.scores } : {}) };
  writeFileAtomic(path.join(to, EXPORT_FILES.manifest), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/** Load a model folder (checksums verified first): the DiT, its info, the RAE (encoder + decoder + statistics). */
export async function loadExportedNavModel(dir: string): Promise<{ model: NavModel; rae: RAE; stats: { mean: Float32Array; var: Float32Array }; manifest: ExportManifest; dispose(): void }> {
  const manifestFile = path.join(dir, EXPORT_FILES.manifest);
  const manifest = readJsonFile(ExportManifestSchema, manifestFile);
  verifyFiles(dir, manifest.files, 'navworld model', manifestFile);
  const info = readJsonFile(NavRunInfoSchema, path.join(dir, EXPORT_FILES.info));
  const dit = createDiT(parseDiTConfig(JSON.parse(fs.readFileSync(path.join(dir, EXPORT_FILES.ditConfig), 'utf8')), path.join(dir, EXPORT_FILES.ditConfig)));
  const sd = loadSafetensors(path.join(dir, EXPORT_FILES.dit));
  try {
    dit.loadStateDict(sd, { source: path.join(dir, EXPORT_FILES.dit) });
  } finally {
    for (const t of sd.values()) t.dispose();
  }
  const st = loadSafetensors(path.join(dir, EXPORT_FILES.stats));
  const stats = { mean: Float32Array.from(st.get('mean')!.dataSync()), var: Float32Array.from(st.get('var')!.dataSync()) };
  const { encoder, selection } = await loadEncoder(withResolution(info.encoder, info.size));
  const rae = createRAE({ encoder, selection, decoder: loadDecoder(path.join(dir, EXPORT_FILES.decoderConfig), path.join(dir, EXPORT_FILES.decoder)), stats: { mean: st.get('mean')!, var: st.get('var')! } });
  const model: NavModel = { dit: dit.eval() as DiTModel, info, checkpoint: dir };
  return { model, rae, stats, manifest, dispose: () => { rae.dispose(); encoder.dispose(); dit.dispose(); } };
}
