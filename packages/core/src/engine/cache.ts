/**
 * Exported ONNX graphs cached beside the checkpoint they come from: `<dir>/onnx/<kind>-<hash>.onnx`,
 * the hash over the exporter version, the model's config and every weight (so a changed checkpoint
 * never reuses a stale graph). Written atomically; a cache that cannot be written is skipped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { Module } from '../nn/module.js';
import { writeFileAtomic } from '../io/safetensors.js';

/** Bump when an exporter's graph changes, so old cached graphs are not reused. */
export const ONNX_EXPORT_VERSION = 1;

/** sha256 (hex, 16 chars) of the exporter version, `config` and every parameter and buffer of `module`. */
export function moduleHash(module: Module, config: unknown): string {
  const h = createHash('sha256');
  h.update(`raev2-onnx-v${ONNX_EXPORT_VERSION}\n${JSON.stringify(config)}\n`);
  for (const [k, v] of [...module.namedParameters(), ...module.namedBuffers()]) {
    h.update(`${k}:${v.dtype}:${v.shape.join('x')}\n`);
    const d = v.dataSync();
    h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest('hex').slice(0, 16);
}

/** The cached graph of `kind` for `module` in `dir`, exporting it with `build` on a miss. Returns a file path, or the bytes when `dir` is null or unwritable. */
export function cachedGraph(dir: string | null, kind: string, module: Module, config: unknown, build: () => Uint8Array): string | Uint8Array {
  if (dir == null) return build();
  const file = path.join(dir, 'onnx', `${kind}-${moduleHash(module, config)}.onnx`);
  if (fs.existsSync(file)) return file;
  const bytes = build();
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, bytes);
    return file;
  } catch (e) {
    process.stderr.write(`[raev2] could not cache the ONNX graph in ${path.dirname(file)} (${(e as Error).message}); exporting in memory\n`);
    return bytes;
  }
}
