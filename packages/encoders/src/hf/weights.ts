/**
 * Load a folder's safetensors weights into a module by HF state-dict key. Shapes are checked from
 * the file headers before any data is read, and every missing, mis-shaped or unexpected tensor is
 * named with the shape the model expects. Checkpoints of wrapping classes (ViTMAEForPreTraining's
 * `vit.*`, CLIPModel's `text_model.*`) are mapped with `stripPrefixes` / `ignore`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { type Module, SafetensorsFile, readJsonFile } from '@raev2/core';

export interface KeyMapping {
  /** Prefixes of a wrapping model, stripped when the file's keys carry them (first match wins). */
  stripPrefixes?: string[];
  /** File keys that belong to other parts of a wrapping model and are skipped. */
  ignore?: RegExp[];
}

interface FileKey {
  file: string;
  key: string;
  shape: number[];
}

const ShardIndex = z.looseObject({ weight_map: z.record(z.string(), z.string()) });

/** Every tensor key of a single file or a sharded index, with its file and shape (headers only). */
export function listWeights(weightsFile: string): Map<string, FileKey> {
  const out = new Map<string, FileKey>();
  const files = weightsFile.endsWith('.index.json')
    ? [...new Set(Object.values(readJsonFile(ShardIndex, weightsFile).weight_map))].map((s) => path.join(path.dirname(weightsFile), s))
    : [weightsFile];
  for (const file of files) {
    if (!fs.existsSync(file)) throw new Error(`weights shard ${file} (listed in ${weightsFile}) is missing`);
    const f = SafetensorsFile.open(file);
    try {
      for (const key of f.keys()) out.set(key, { file, key, shape: f.info(key).shape });
    } finally {
      f.close();
    }
  }
  return out;
}

/** Apply the mapping: module key → file key, plus file keys nobody claims. */
function mapKeys(fileKeys: Iterable<string>, m: KeyMapping): { mapped: Map<string, string>; unclaimed: string[] } {
  const keys = [...fileKeys];
  const prefix = (m.stripPrefixes ?? []).find((p) => keys.some((k) => k.startsWith(p)));
  const mapped = new Map<string, string>();
  const unclaimed: string[] = [];
  for (const k of keys) {
    if (m.ignore?.some((r) => r.test(k))) continue;
    if (prefix != null && !k.startsWith(prefix)) {
      unclaimed.push(k);
      continue;
    }
    mapped.set(prefix != null ? k.slice(prefix.length) : k, k);
  }
  return { mapped, unclaimed };
}

/** Load weights into `module` (strict); `modelName` names the model in errors. */
export function loadWeights(module: Module, weightsFile: string, modelName: string, mapping: KeyMapping = {}): void {
  const available = listWeights(weightsFile);
  const { mapped, unclaimed } = mapKeys(available.keys(), mapping);
  const expected = new Map<string, number[]>([...module.namedParameters(), ...module.namedBuffers()].map(([k, t]) => [k, t.shape]));
  const problems: string[] = [];
  for (const [key, shape] of expected) {
    const src = mapped.get(key);
    if (src == null) problems.push(`missing tensor "${key}" (expected shape [${shape}])`);
    else {
      const got = available.get(src)!.shape;
      if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) problems.push(`tensor "${src}" has shape [${got}] but the model expects [${shape}]`);
    }
  }
  for (const [key, src] of mapped) if (!expected.has(key)) problems.push(`unexpected tensor "${src}" [${available.get(src)!.shape}]`);
  for (const src of unclaimed) problems.push(`unexpected tensor "${src}" [${available.get(src)!.shape}]`);
  if (problems.length) {
    const shown = problems.length > 25 ? [...problems.slice(0, 25), `… and ${problems.length - 25} more`] : problems;
    throw new Error(`${weightsFile} does not match ${modelName} (built from config.json):\n  ${shown.join('\n  ')}`);
  }
  // read file by file so each is opened once
  const byFile = new Map<string, [string, string][]>();
  for (const [key, src] of mapped) {
    const f = available.get(src)!.file;
    byFile.set(f, [...(byFile.get(f) ?? []), [key, src]]);
  }
  for (const [file, pairs] of byFile) {
    const st = SafetensorsFile.open(file);
    try {
      // one tensor at a time keeps the peak memory at one copy of the model
      for (const [key, src] of pairs) {
        const t = st.read(src);
        try {
          module.loadStateDict(new Map([[key, t]]), { strict: false, source: file });
        } finally {
          t.dispose();
        }
      }
    } finally {
      st.close();
    }
  }
}
