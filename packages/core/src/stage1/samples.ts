/** Sample grids of a stage-1 run: originals in the top row, reconstructions below, written atomically as PNG. */
import sharp from 'sharp';
import { writeFileAtomic } from '../io/atomic.js';
import { tf, type Tensor } from '../runtime/tf.js';

/** Rows of image batches NHWC [B, H, W, 3] in [0, 1] (clamped) → one PNG grid with a 2-px gap. */
export async function writeImageRows(file: string, rows: Tensor[]): Promise<void> {
  if (rows.length === 0) throw new Error('writeImageRows: no rows');
  const [b, h, w] = rows[0].shape;
  for (const r of rows) if (r.shape.join() !== rows[0].shape.join()) throw new Error(`writeImageRows: row shapes differ: [${r.shape}] vs [${rows[0].shape}]`);
  const gap = 2, W = b * w + (b - 1) * gap, H = rows.length * h + (rows.length - 1) * gap;
  const canvas = new Uint8Array(W * H * 3).fill(255);
  rows.forEach((r, ri) => {
    const t = tf.tidy(() => r.clipByValue(0, 1).mul(255).round());
    const px = t.dataSync();
    t.dispose();
    for (let n = 0; n < b; n++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
      const dst = ((ri * (h + gap) + i) * W + n * (w + gap) + j) * 3, src = ((n * h + i) * w + j) * 3;
      canvas[dst] = px[src];
      canvas[dst + 1] = px[src + 1];
      canvas[dst + 2] = px[src + 2];
    }
  });
  writeFileAtomic(file, await sharp(canvas, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer());
}
