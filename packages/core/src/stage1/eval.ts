/**
 * `stage1 eval`: reconstruct held-out images without noise and score them (docs/method.md, decoder losses): mean PSNR,
 * mean SSIM, and rFD — the Fréchet distance of a frozen encoder's pooled features of the
 * reconstructions vs the originals.
 */
import { tf } from '../runtime/tf.js';
import type { Encoder } from '../encoder.js';
import type { RAE } from '../rae/rae.js';
import { ReconstructionMetrics, type ReconstructionSummary } from '../metrics/recon.js';
import type { ImageStore } from './images.js';

export interface EvalOptions {
  batch?: number;
  /** rFD feature encoder (its last block's token-mean); null: no rFD. */
  featureEncoder?: Encoder | null;
  /** Block of the feature encoder to pool (default its last). */
  featureLayer?: number;
  onProgress?: (done: number) => void;
}

/** Reconstruct every image of `store` with `rae` (noise off) and summarise PSNR / SSIM / rFD. */
export function evaluateReconstruction(rae: RAE, store: ImageStore, opts: EvalOptions = {}): ReconstructionSummary {
  const [h, w] = rae.imageSize;
  if (store.size[0] !== h || store.size[1] !== w) throw new Error(`eval images are ${store.size.join('×')} but the decoder outputs ${h}×${w}`);
  const m = new ReconstructionMetrics(opts.featureEncoder ?? undefined, opts.featureLayer);
  let done = 0;
  for (const idx of store.ranges(opts.batch ?? 16)) {
    const x = store.batch(idx);
    const r = rae.reconstruct(x);
    try {
      m.update(x, r);
    } finally {
      tf.dispose([x, r]);
    }
    done += idx.length;
    opts.onProgress?.(done);
  }
  return m.summary();
}

/** A fixed-width text table of named summaries (PSNR dB, SSIM, rFD). */
export function formatEvalTable(rows: { name: string; summary: ReconstructionSummary }[]): string {
  const w = Math.max(4, ...rows.map((r) => r.name.length));
  const head = `${'run'.padEnd(w)}  ${'images'.padStart(6)}  ${'PSNR (dB)'.padStart(9)}  ${'SSIM'.padStart(6)}  ${'rFD'.padStart(9)}`;
  const lines = rows.map(({ name, summary: s }) =>
    `${name.padEnd(w)}  ${String(s.count).padStart(6)}  ${s.psnr.toFixed(2).padStart(9)}  ${s.ssim.toFixed(4).padStart(6)}  ${(s.rfd == null ? '—' : s.rfd.toFixed(3)).padStart(9)}`);
  return [head, '-'.repeat(head.length), ...lines].join('\n');
}
