/** A labelled image grid: one row per class (its name in a left margin), written atomically as PNG. */
import sharp from 'sharp';
import { writeFileAtomic } from '../io/atomic.js';
import { tf, type Tensor } from '../runtime/tf.js';

export interface GridRow {
  label: string;
  /** Images NHWC [B, H, W, 3] in [0, 1] (clamped when written). */
  images: Tensor;
}

/** Write rows of images with their labels; rows may hold different counts (shorter rows are padded white). */
export async function writeLabelledGrid(file: string, rows: GridRow[], opts: { gap?: number; labelWidth?: number } = {}): Promise<void> {
  if (rows.length === 0) throw new Error('writeLabelledGrid: no rows');
  const [, h, w] = rows[0].images.shape;
  for (const r of rows) if (r.images.shape[1] !== h || r.images.shape[2] !== w) throw new Error(`writeLabelledGrid: image sizes differ: [${r.images.shape}] vs [${rows[0].images.shape}]`);
  const gap = opts.gap ?? 2;
  const cols = Math.max(...rows.map((r) => r.images.shape[0]));
  const fontSize = Math.max(10, Math.min(16, Math.floor(h / 3)));
  const labelW = opts.labelWidth ?? Math.min(220, Math.max(60, Math.ceil(Math.max(...rows.map((r) => r.label.length)) * fontSize * 0.6) + 8));
  const W = labelW + cols * w + (cols - 1) * gap, H = rows.length * h + (rows.length - 1) * gap;
  const canvas = new Uint8Array(W * H * 3).fill(255);
  rows.forEach((r, ri) => {
    const t = tf.tidy(() => r.images.clipByValue(0, 1).mul(255).round());
    const px = t.dataSync();
    t.dispose();
    const b = r.images.shape[0];
    for (let n = 0; n < b; n++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
      const dst = ((ri * (h + gap) + i) * W + labelW + n * (w + gap) + j) * 3, src = ((n * h + i) * w + j) * 3;
      canvas[dst] = px[src];
      canvas[dst + 1] = px[src + 1];
      canvas[dst + 2] = px[src + 2];
    }
  });
  const text = rows.map((r, ri) => `<text x="4" y="${ri * (h + gap) + h / 2 + fontSize / 3}" font-family="DejaVu Sans, sans-serif" font-size="${fontSize}" fill="#222">${escapeXml(r.label)}</text>`).join('');
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${labelW}" height="${H}">${text}</svg>`);
  writeFileAtomic(file, await sharp(canvas, { raw: { width: W, height: H, channels: 3 } }).composite([{ input: svg, left: 0, top: 0 }]).png().toBuffer());
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}
