/**
 * Image files ↔ float32 tensors in [0, 1] (HWC / NHWC), through sharp.
 * Transparent pixels are composited on a background, white by default: emoji and icons are drawn
 * on white, so that is what a viewer shows and what a model should see.
 */
import * as path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { tf, type Tensor } from '../runtime/tf.js';
import { writeFileAtomic } from './safetensors.js';

export type ImageFit = 'cover' | 'contain' | 'fill';

export interface ReadImageOptions {
  /** Output size: `s` for s×s or [height, width]; default: the file's own size. */
  size?: number | [number, number];
  /** 'cover' (scale, centre crop; default), 'contain' (scale, letterbox with the background), 'fill' (stretch). */
  fit?: ImageFit;
  /** Colour under transparent pixels and letterbox bars (default 'white'). */
  background?: 'white' | 'black';
}

const BACKGROUND = { white: '#ffffff', black: '#000000' } as const;

/** Decode one file to 8-bit RGB; errors name the file. */
export async function readImageBytes(file: string, opts: ReadImageOptions = {}): Promise<{ data: Uint8Array; height: number; width: number }> {
  const background = BACKGROUND[opts.background ?? 'white'];
  try {
    // autoOrient applies EXIF rotation; failOn 'error' rejects truncated or corrupt data (not mere warnings)
    let img = sharp(file, { failOn: 'error', autoOrient: true }).flatten({ background });
    if (opts.size != null) {
      const [h, w] = typeof opts.size === 'number' ? [opts.size, opts.size] : opts.size;
      img = img.resize(w, h, { fit: opts.fit ?? 'cover', background });
    }
    const { data, info } = await img.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const { width, height, channels } = info;
    const px = new Uint8Array(data.buffer, data.byteOffset, data.length);
    if (channels === 3) return { data: px, height, width };
    // grey (or grey + alpha) output: replicate the grey channel
    const rgb = new Uint8Array(height * width * 3);
    for (let i = 0; i < height * width; i++) rgb.fill(px[i * channels], i * 3, i * 3 + 3);
    return { data: rgb, height, width };
  } catch (e) {
    throw new Error(`cannot read image ${file}: ${(e as Error).message}`);
  }
}

/** Read an image file → Tensor3D [H, W, 3] float32 in [0, 1]. */
export async function readImage(file: string, opts: ReadImageOptions = {}): Promise<tf.Tensor3D> {
  const { data, height, width } = await readImageBytes(file, opts);
  return tf.tensor3d(toUnitFloat(data), [height, width, 3]);
}

/** Read image files → Tensor4D [N, H, W, 3]; all are resized to `size` if given, else must share one size. */
export async function readImages(files: readonly string[], size?: number | [number, number], opts: Omit<ReadImageOptions, 'size'> & { concurrency?: number } = {}): Promise<tf.Tensor4D> {
  if (files.length === 0) throw new Error('readImages: no files');
  const concurrency = opts.concurrency ?? 8;
  const decoded: { data: Uint8Array; height: number; width: number }[] = [];
  for (let i = 0; i < files.length; i += concurrency) {
    decoded.push(...(await Promise.all(files.slice(i, i + concurrency).map((f) => readImageBytes(f, { ...opts, size })))));
  }
  const { height, width } = decoded[0];
  const per = height * width * 3;
  const out = new Float32Array(files.length * per);
  decoded.forEach((d, i) => {
    if (d.height !== height || d.width !== width) {
      throw new Error(`readImages: ${files[i]} is ${d.width}×${d.height} but ${files[0]} is ${width}×${height} (pass a size to resize all)`);
    }
    out.set(toUnitFloat(d.data), i * per);
  });
  return tf.tensor4d(out, [files.length, height, width, 3]);
}

function toUnitFloat(px: Uint8Array): Float32Array {
  const out = new Float32Array(px.length);
  for (let i = 0; i < px.length; i++) out[i] = px[i] / 255;
  return out;
}

/** [H, W, C] (or [1, H, W, C]) float in [0, 1] → 8-bit bytes: clamped, rounded, NaN → 0. */
export function toImageBytes(image: Tensor): { data: Uint8Array; height: number; width: number; channels: number } {
  const shape = image.rank === 4 && image.shape[0] === 1 ? image.shape.slice(1) : image.shape;
  if (shape.length !== 3 || ![1, 3, 4].includes(shape[2])) throw new Error(`image tensor must be [H, W, 1|3|4] (or [1, H, W, C]), got [${image.shape}]`);
  const [height, width, channels] = shape;
  const v = image.dataSync();
  const data = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    data[i] = x > 0 ? (x < 1 ? Math.round(x * 255) : 255) : 0; // NaN fails both tests → 0
  }
  return { data, height, width, channels };
}

const ENCODERS: Record<string, (img: Sharp) => Sharp> = {
  '.png': (img) => img.png(),
  '.jpg': (img) => img.jpeg({ quality: 95 }),
  '.jpeg': (img) => img.jpeg({ quality: 95 }),
  '.webp': (img) => img.webp({ quality: 95 }),
};

/** Encode raw 8-bit pixels for `file`'s extension (.png, .jpg/.jpeg, .webp). */
export async function encodeImage(file: string, px: { data: Uint8Array; height: number; width: number; channels: number }): Promise<Buffer> {
  const ext = path.extname(file).toLowerCase();
  const encode = ENCODERS[ext];
  if (encode == null) throw new Error(`cannot write image ${file}: unsupported extension "${ext}" (use ${Object.keys(ENCODERS).join(', ')})`);
  const raw = sharp(px.data, { raw: { width: px.width, height: px.height, channels: px.channels as 1 | 3 | 4 } });
  return encode(raw).toBuffer();
}

/** Write [H, W, C] float in [0, 1] (clamped, rounded to 8 bits) as PNG / JPEG / WebP by extension, atomically. */
export async function writeImage(file: string, image: Tensor): Promise<void> {
  writeFileAtomic(file, await encodeImage(file, toImageBytes(image)));
}
