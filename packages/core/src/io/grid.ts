/**
 * Image grids for sample sheets, one writer for both layouts: N images in rows of `cols`, separated
 * by `pad` pixels, with optional captions under each image; or labelled rows (a label in a left
 * margin per row, e.g. one row per class). Text is rendered as SVG by sharp (librsvg) and blended
 * into the label areas only, so image pixels stay exactly as given.
 */
import sharp from 'sharp';
import { tf, type Tensor } from '../runtime/tf.js';
import { writeImage } from './image.js';

export interface GridOptions {
  /** Images per row (default ⌈√N⌉). */
  cols?: number;
  /** Gap between and around cells in pixels (default 2). */
  pad?: number;
  /** Gap (and caption strip) grey level in [0, 1] (default 1 = white). */
  padValue?: number;
  /** One caption per image ('' for none), drawn in a strip under the image. */
  labels?: readonly string[];
  /** Caption strip height in pixels (default max(12, ⌊W/5⌋)). */
  labelHeight?: number;
}

/** Where image n sits in a grid: top-left corner of the image and of its caption strip. */
export interface GridLayout {
  rows: number;
  cols: number;
  height: number;
  width: number;
  labelHeight: number;
  cell(n: number): { top: number; left: number };
}

/** Geometry of a grid of n images of h×w (pure; shared by imageGrid and its tests). */
export function gridLayout(n: number, h: number, w: number, opts: GridOptions = {}): GridLayout {
  const cols = Math.max(1, Math.min(n, opts.cols ?? Math.ceil(Math.sqrt(n))));
  const rows = Math.ceil(n / cols);
  const pad = opts.pad ?? 2;
  const labelHeight = opts.labels ? opts.labelHeight ?? Math.max(12, Math.floor(w / 5)) : 0;
  const cellH = h + labelHeight;
  return {
    rows,
    cols,
    labelHeight,
    height: rows * cellH + (rows + 1) * pad,
    width: cols * w + (cols + 1) * pad,
    cell: (i) => ({ top: pad + Math.floor(i / cols) * (cellH + pad), left: pad + (i % cols) * (w + pad) }),
  };
}

/** images NHWC [N, H, W, 1|3] in [0, 1] → one grid image [rows·(H+label)+(rows+1)·pad, cols·W+(cols+1)·pad, 3]. */
export async function imageGrid(images: Tensor, opts: GridOptions = {}): Promise<tf.Tensor3D> {
  const [n, h, w, c] = images.shape as number[];
  if (images.rank !== 4 || (c !== 1 && c !== 3)) throw new Error(`imageGrid: images must be NHWC [N, H, W, 1|3], got [${images.shape}]`);
  if (opts.labels && opts.labels.length !== n) throw new Error(`imageGrid: ${opts.labels.length} labels for ${n} images`);
  const g = gridLayout(n, h, w, opts);
  const canvas = new Float32Array(g.height * g.width * 3).fill(opts.padValue ?? 1);
  const px = images.dataSync();
  for (let k = 0; k < n; k++) {
    const { top, left } = g.cell(k);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const dst = ((top + i) * g.width + left + j) * 3, src = ((k * h + i) * w + j) * c;
        for (let ch = 0; ch < 3; ch++) canvas[dst + ch] = px[src + (c === 3 ? ch : 0)];
      }
    }
  }
  if (opts.labels && opts.labels.some((s) => s.length > 0)) await drawLabels(canvas, g, h, w, opts.labels, opts.padValue ?? 1);
  return tf.tensor3d(canvas, [g.height, g.width, 3]);
}

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** Render every caption centred in its strip and blend it into the canvas. */
async function drawLabels(canvas: Float32Array, g: GridLayout, h: number, w: number, labels: readonly string[], padValue: number): Promise<void> {
  const fontSize = Math.max(6, Math.round(g.labelHeight * 0.7));
  const maxChars = Math.max(1, Math.floor(w / (0.55 * fontSize)));
  const fill = padValue < 0.5 ? 'white' : 'black';
  const texts = labels.map((label, k) => {
    if (!label) return '';
    const { top, left } = g.cell(k);
    const s = label.length > maxChars ? `${label.slice(0, Math.max(1, maxChars - 1))}…` : label;
    return `<text x="${left + w / 2}" y="${top + h + Math.round(g.labelHeight * 0.78)}">${escapeXml(s)}</text>`;
  });
  await blendSvg(canvas, g.width, g.height, `<g font-family="sans-serif" font-size="${fontSize}" fill="${fill}" text-anchor="middle">${texts.join('')}</g>`);
}

/** Render SVG content (text) over a width×height RGB canvas in [0, 1]: SVG → RGBA by sharp (librsvg), alpha-blended. */
async function blendSvg(canvas: Float32Array, width: number, height: number, content: string): Promise<void> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${content}</svg>`;
  const { data, info } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 4) throw new Error(`image grid: label layer rendered as ${info.width}×${info.height}×${info.channels}`);
  for (let p = 0; p < width * height; p++) {
    const a = data[p * 4 + 3] / 255;
    if (a === 0) continue;
    for (let ch = 0; ch < 3; ch++) canvas[p * 3 + ch] = canvas[p * 3 + ch] * (1 - a) + (data[p * 4 + ch] / 255) * a;
  }
}

/** imageGrid + writeImage (PNG / JPEG / WebP by extension, atomic). */
export async function writeImageGrid(file: string, images: Tensor, opts: GridOptions = {}): Promise<void> {
  const grid = await imageGrid(images, opts);
  try {
    await writeImage(file, grid);
  } finally {
    grid.dispose();
  }
}

/** One labelled row of a row grid: its label and images NHWC [B, H, W, 3] in [0, 1] (clamped). */
export interface GridRow {
  label: string;
  images: Tensor;
}

/**
 * Rows of images, each row's label in a left margin (e.g. one row per class), `gap` pixels between
 * rows and columns and none around; rows may hold different counts (the rest stays white).
 * → [rows·H + (rows − 1)·gap, labelWidth + cols·W + (cols − 1)·gap, 3]
 */
export async function labelledRowGrid(rows: GridRow[], opts: { gap?: number; labelWidth?: number | 'fit' } = {}): Promise<tf.Tensor3D> {
  if (rows.length === 0) throw new Error('labelled grid: no rows');
  const [, h, w] = rows[0].images.shape;
  for (const r of rows) if (r.images.shape[1] !== h || r.images.shape[2] !== w) throw new Error(`labelled grid: image sizes differ: [${r.images.shape}] vs [${rows[0].images.shape}]`);
  const gap = opts.gap ?? 2;
  const cols = Math.max(...rows.map((r) => r.images.shape[0]));
  const fontSize = Math.max(10, Math.min(16, Math.floor(h / 3)));
  // 'fit': as wide as the longest label; by default at most 220 px (class names)
  const fitted = Math.max(60, Math.ceil(Math.max(...rows.map((r) => r.label.length)) * fontSize * 0.6) + 8);
  const labelW = typeof opts.labelWidth === 'number' ? opts.labelWidth : opts.labelWidth === 'fit' ? fitted : Math.min(220, fitted);
  const W = labelW + cols * w + (cols - 1) * gap, H = rows.length * h + (rows.length - 1) * gap;
  const canvas = new Float32Array(W * H * 3).fill(1);
  rows.forEach((r, ri) => {
    const t = tf.tidy(() => r.images.clipByValue(0, 1));
    const px = t.dataSync();
    t.dispose();
    for (let n = 0; n < r.images.shape[0]; n++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
      const dst = ((ri * (h + gap) + i) * W + labelW + n * (w + gap) + j) * 3, src = ((n * h + i) * w + j) * 3;
      canvas[dst] = px[src];
      canvas[dst + 1] = px[src + 1];
      canvas[dst + 2] = px[src + 2];
    }
  });
  const text = rows.map((r, ri) => `<text x="4" y="${ri * (h + gap) + h / 2 + fontSize / 3}">${escapeXml(r.label)}</text>`).join('');
  await blendSvg(canvas, W, H, `<g font-family="DejaVu Sans, sans-serif" font-size="${fontSize}" fill="#222">${text}</g>`);
  return tf.tensor3d(canvas, [H, W, 3]);
}

/** labelledRowGrid + writeImage (PNG / JPEG / WebP by extension, atomic). */
export async function writeLabelledGrid(file: string, rows: GridRow[], opts: { gap?: number; labelWidth?: number | 'fit' } = {}): Promise<void> {
  const grid = await labelledRowGrid(rows, opts);
  try {
    await writeImage(file, grid);
  } finally {
    grid.dispose();
  }
}
