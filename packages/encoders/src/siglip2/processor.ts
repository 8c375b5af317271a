/**
 * HF `Siglip2ImageProcessor` (NaFlex): each image is resized (aspect ratio kept) to the largest
 * patch-multiple size whose patch count fits `max_num_patches` (binary search on the scale), with
 * PIL bilinear; then rescaled, normalised (mean/std 0.5), cut into patch rows ordered (patch row,
 * patch column, channel) and padded with zero rows to `max_num_patches`.
 */
import { z } from 'zod';
import { tf, type Tensor, parseWith } from '@raev2/core';
import { PIL_RESAMPLE, pilResizeUint8, resizeWeights, type ResampleFilter } from '../preprocess/resample.js';
import { resizeChannelsLast } from '../vit/interpolate.js';
import type { ImageU8 } from '../preprocess/pipeline.js';

const Triple = z.union([z.number(), z.array(z.number()).length(3)]).transform((v): [number, number, number] => (typeof v === 'number' ? [v, v, v] : [v[0], v[1], v[2]]));

const Siglip2ProcessorSchema = z.looseObject({
  image_processor_type: z.string().nullish(),
  do_resize: z.boolean().nullish(),
  resample: z.number().int().min(0).max(5).nullish(),
  do_rescale: z.boolean().nullish(),
  rescale_factor: z.number().positive().nullish(),
  do_normalize: z.boolean().nullish(),
  image_mean: Triple.nullish(),
  image_std: Triple.nullish(),
  patch_size: z.number().int().positive().nullish(),
  max_num_patches: z.number().int().positive().nullish(),
});

export interface Siglip2Processor {
  doResize: boolean;
  resample: ResampleFilter;
  /** Factor applied to 8-bit values (1 when do_rescale is false). */
  rescaleFactor: number;
  mean: [number, number, number];
  std: [number, number, number];
  patchSize: number;
  maxNumPatches: number;
}

/** `preprocessor_config.json` of a NaFlex checkpoint (null → the class defaults: patch 16, 256 patches). */
export function parseSiglip2Processor(raw: unknown, source = 'preprocessor_config.json'): Siglip2Processor {
  const c = parseWith(Siglip2ProcessorSchema, raw ?? {}, source);
  const normalize = c.do_normalize ?? true;
  return {
    doResize: c.do_resize ?? true,
    resample: PIL_RESAMPLE[c.resample ?? 2],
    rescaleFactor: (c.do_rescale ?? true) ? (c.rescale_factor ?? 1 / 255) : 1,
    mean: normalize ? (c.image_mean ?? [0.5, 0.5, 0.5]) : [0, 0, 0],
    std: normalize ? (c.image_std ?? [0.5, 0.5, 0.5]) : [1, 1, 1],
    patchSize: c.patch_size ?? 16,
    maxNumPatches: c.max_num_patches ?? 256,
  };
}

/**
 * HF `get_image_size_for_max_num_patches`: the (height, width), multiples of the patch size and at
 * least one patch, of the largest scale s (binary search to 1e-5) with ⌈s·h/p⌉·⌈s·w/p⌉ ≤ max patches.
 */
export function naflexImageSize(height: number, width: number, patch: number, maxNumPatches: number, eps = 1e-5): [number, number] {
  const scaled = (scale: number, size: number) => Math.max(patch, Math.ceil((size * scale) / patch) * patch);
  let lo = eps / 10, hi = 100;
  while (hi - lo >= eps) {
    const s = (lo + hi) / 2;
    if ((scaled(s, height) / patch) * (scaled(s, width) / patch) <= maxNumPatches) lo = s;
    else hi = s;
  }
  return [scaled(lo, height), scaled(lo, width)];
}

/** NaFlex model inputs. */
export interface NaflexInputs {
  /** [B, maxNumPatches, p·p·3] float32 */
  pixelValues: Tensor;
  /** [B, maxNumPatches] int32, 1 = real patch row */
  pixelAttentionMask: Tensor;
  /** Patch grid (rows, cols) per image. */
  spatialShapes: [number, number][];
}

export function disposeNaflexInputs(x: NaflexInputs): void {
  x.pixelValues.dispose();
  x.pixelAttentionMask.dispose();
}

/** HWC image values (float) at a patch-multiple size → padded patch rows (patch row, patch col, channel). */
function patchRows(values: Float32Array, h: number, w: number, p: number, maxPatches: number, out: Float32Array, offset: number): [number, number] {
  const gh = h / p, gw = w / p;
  if (gh * gw > maxPatches) throw new Error(`a ${h}×${w} image has ${gh * gw} patches > max_num_patches ${maxPatches}`);
  const row = p * p * 3;
  for (let i = 0; i < gh; i++) for (let j = 0; j < gw; j++) {
    const base = offset + (i * gw + j) * row;
    for (let y = 0; y < p; y++) for (let x = 0; x < p; x++) for (let c = 0; c < 3; c++) {
      out[base + (y * p + x) * 3 + c] = values[((i * p + y) * w + j * p + x) * 3 + c];
    }
  }
  return [gh, gw];
}

const f32 = Math.fround;

/**
 * 8-bit RGB images of any sizes → NaFlex inputs, as the HF processor computes them: PIL's 8-bit
 * resize (bit-exact), float64 rescale to float32, then (x − mean)/std in float32.
 */
export function preprocessNaflex(images: ImageU8[], p: Siglip2Processor): NaflexInputs {
  if (images.length === 0) throw new Error('preprocessNaflex: no images');
  const { patchSize: ps, maxNumPatches: m } = p;
  const row = ps * ps * 3;
  const px = new Float32Array(images.length * m * row);
  const mask = new Int32Array(images.length * m);
  const spatialShapes = images.map((img, b) => {
    if (img.channels !== 3) throw new Error(`preprocessNaflex: image ${b} has ${img.channels} channels, expected RGB`);
    const [h, w] = p.doResize ? naflexImageSize(img.height, img.width, ps, m) : [img.height, img.width];
    if (h % ps !== 0 || w % ps !== 0) throw new Error(`preprocessNaflex: image ${b} is ${h}×${w}, not a multiple of the patch size ${ps} (enable do_resize)`);
    const resized = h === img.height && w === img.width ? img.data : pilResizeUint8(img.data, img.height, img.width, 3, h, w, p.resample);
    const values = new Float32Array(resized.length);
    for (let i = 0; i < resized.length; i++) {
      const c = i % 3;
      values[i] = f32(f32(f32(resized[i] * p.rescaleFactor) - f32(p.mean[c])) / f32(p.std[c]));
    }
    const shape = patchRows(values, h, w, ps, m, px, b * m * row);
    mask.fill(1, b * m, b * m + shape[0] * shape[1]);
    return shape;
  });
  return {
    pixelValues: tf.tensor3d(px, [images.length, m, row]),
    pixelAttentionMask: tf.tensor2d(mask, [images.length, m], 'int32'),
    spatialShapes,
  };
}

/**
 * Images NHWC [B, H, W, 3] in [0, 1] (one size for the batch) → NaFlex inputs, on the device: the
 * processor's size rule and filter as a float resize (no 8-bit rounding), then normalise and patchify.
 */
export function naflexFromTensor(images: Tensor, p: Siglip2Processor): NaflexInputs {
  if (images.rank !== 4 || images.shape[3] !== 3) throw new Error(`images must be NHWC [B, H, W, 3] in [0, 1], got [${images.shape}]`);
  const [b, hIn, wIn] = images.shape as number[];
  const { patchSize: ps, maxNumPatches: m } = p;
  const [h, w] = p.doResize ? naflexImageSize(hIn, wIn, ps, m) : [hIn, wIn];
  if (h % ps !== 0 || w % ps !== 0) throw new Error(`images are ${h}×${w}, not a multiple of the patch size ${ps}`);
  const gh = h / ps, gw = w / ps;
  if (gh * gw > m) throw new Error(`a ${h}×${w} image has ${gh * gw} patches > max_num_patches ${m}`);
  const pixelValues = tf.tidy(() => {
    let x = images;
    if (h !== hIn || w !== wIn) x = resizeChannelsLast(x, resizeWeights(hIn, h, p.resample, 'pil'), resizeWeights(wIn, w, p.resample, 'pil'), [h, w]);
    const scale = tf.tensor1d(p.std.map((s) => (255 * p.rescaleFactor) / s));
    const shift = tf.tensor1d(p.mean.map((mu, i) => mu / p.std[i]));
    const rows = x.mul(scale).sub(shift).reshape([b, gh, ps, gw, ps, 3]).transpose([0, 1, 3, 2, 4, 5]).reshape([b, gh * gw, ps * ps * 3]);
    return gh * gw === m ? rows : rows.pad([[0, 0], [0, m - gh * gw], [0, 0]]);
  });
  const mask = new Int32Array(b * m);
  for (let i = 0; i < b; i++) mask.fill(1, i * m, i * m + gh * gw);
  return { pixelValues, pixelAttentionMask: tf.tensor2d(mask, [b, m], 'int32'), spatialShapes: Array.from({ length: b }, () => [gh, gw] as [number, number]) };
}
