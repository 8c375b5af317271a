/**
 * Latents of captioned images for T2I: the frozen encoder's raw multi-layer latent of every image
 * (encoded once, cached as safetensors keyed by encoder, size and item keys), statistics fitted on
 * the training rows only (Welford, per position and channel), and the standardised copy the DiT
 * trains on.
 */
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { tf, Welford, STATS_EPS, SafetensorsFile, saveSafetensors, type LatentStats, type Encoder, type LayerSelection } from '@raev2/core';
import { encodeRawLatents } from '../tower/image_features.js';
import type { HostLatents } from './source.js';

/** sha256 over the encoder spec, size and item keys (the cache key). */
export function latentKey(encoderSpec: string, imageSize: number, keys: readonly string[]): string {
  return createHash('sha256').update(`${encoderSpec}\n${imageSize}\n${keys.join('\n')}`).digest('hex');
}

/** Raw latents of `files` (from `cacheFile` when its key matches, else encoded and written there). */
export async function rawLatentsCached(encoder: Encoder, selection: LayerSelection, encoderSpec: string, imageSize: number, items: readonly { key: string; path: string }[], cacheFile: string | null): Promise<HostLatents> {
  const key = latentKey(encoderSpec, imageSize, items.map((i) => i.key));
  if (cacheFile && fs.existsSync(cacheFile)) {
    const f = SafetensorsFile.open(cacheFile);
    try {
      if (f.metadata.key === key) {
        const t = f.readHost('latents');
        const [count, n, c] = t.shape;
        const side = Math.round(Math.sqrt(n));
        return { data: Float32Array.from(t.data as Float32Array), count, grid: [side, side], channels: c };
      }
    } finally {
      f.close();
    }
  }
  const r = await encodeRawLatents(encoder, selection, items.map((i) => i.path), imageSize);
  const out: HostLatents = { data: r.latents, count: r.count, grid: r.grid, channels: r.channels };
  if (cacheFile) saveSafetensors(cacheFile, { latents: { dtype: 'F32', shape: [r.count, r.grid[0] * r.grid[1], r.channels], data: r.latents } }, { metadata: { key, encoder: encoderSpec, imageSize: String(imageSize) } });
  return out;
}

/** Per-position, per-channel statistics [N, C] of the rows `idx` (population variance). */
export function fitStats(raw: HostLatents, idx: readonly number[]): LatentStats {
  const n = raw.grid[0] * raw.grid[1], c = raw.channels, per = n * c;
  const w = new Welford([n, c]);
  const rows = new Float32Array(idx.length * per);
  idx.forEach((i, k) => rows.set(raw.data.subarray(i * per, (i + 1) * per), k * per));
  w.update(rows);
  const { mean, variance } = { mean: Float32Array.from(w.mean), variance: Float32Array.from(w.m2, (m) => m / w.count) };
  return { mean: tf.tensor2d(mean, [n, c]), var: tf.tensor2d(variance, [n, c]), eps: STATS_EPS };
}

/** (z − μ)/√(σ² + eps) of every row, on the host. */
export function standardizeHost(raw: HostLatents, stats: LatentStats): HostLatents {
  const per = raw.grid[0] * raw.grid[1] * raw.channels;
  const mu = stats.mean ? stats.mean.dataSync() : new Float32Array(per);
  const v = stats.var.dataSync();
  const eps = stats.eps ?? STATS_EPS;
  const inv = Float32Array.from(v, (x) => 1 / Math.sqrt(x + eps));
  const data = new Float32Array(raw.data.length);
  for (let r = 0; r < raw.count; r++) for (let i = 0, o = r * per; i < per; i++) data[o + i] = (raw.data[o + i] - mu[i]) * inv[i];
  return { ...raw, data };
}
