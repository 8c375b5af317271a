/**
 * `preprocessor_config.json` → a normalised description of an HF image processor: resize rule,
 * resampling filter and library (PIL for slow processors, torchvision for `*Fast`), center crop,
 * rescale factor and mean/std. Missing keys take the processor class's defaults.
 */
import { z } from 'zod';
import { parseWith } from '@raev2/core';
import { PIL_RESAMPLE, type ResampleFilter, type ResizeBackend } from './resample.js';

export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];
export const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];
const HALF: [number, number, number] = [0.5, 0.5, 0.5];

/** How the image is resized before any crop. */
export type ResizeRule =
  | { kind: 'exact'; height: number; width: number }
  /** Shorter side to `shortest` keeping the aspect ratio (longer side truncated), capped by `longest`. */
  | { kind: 'shortest'; shortest: number; longest?: number };

export interface ImageProcessor {
  /** `image_processor_type` (or the legacy `feature_extractor_type`). */
  type: string;
  backend: ResizeBackend;
  resize: ResizeRule | null;
  resample: ResampleFilter;
  /** Center crop (height, width) after resizing, or null. */
  crop: [number, number] | null;
  /** Factor applied to 8-bit values (`rescale_factor`, or 1 when `do_rescale` is false). */
  rescaleFactor: number;
  /** Normalisation (x − mean)/std after rescaling; 0 and 1 when `do_normalize` is false. */
  mean: [number, number, number];
  std: [number, number, number];
}

const positiveInt = z.number().int().positive();
const SizeSchema = z.union([
  positiveInt,
  z.looseObject({ height: positiveInt, width: positiveInt }),
  z.looseObject({ shortest_edge: positiveInt, longest_edge: positiveInt.nullish() }),
]);
const Triple = z.union([z.number(), z.array(z.number()).length(3)]).transform((v): [number, number, number] => (typeof v === 'number' ? [v, v, v] : [v[0], v[1], v[2]]));

const ProcessorSchema = z.looseObject({
  image_processor_type: z.string().nullish(),
  feature_extractor_type: z.string().nullish(),
  do_resize: z.boolean().nullish(),
  size: SizeSchema.nullish(),
  resample: z.number().int().min(0).max(5).nullish(),
  do_center_crop: z.boolean().nullish(),
  crop_size: SizeSchema.nullish(),
  do_rescale: z.boolean().nullish(),
  rescale_factor: z.number().positive().nullish(),
  do_normalize: z.boolean().nullish(),
  image_mean: Triple.nullish(),
  image_std: Triple.nullish(),
});

interface ClassDefaults {
  size: z.infer<typeof SizeSchema>;
  resample: number;
  crop: number | null;
  mean: [number, number, number];
  std: [number, number, number];
  /** Legacy integer `size` means the shortest edge (HF `default_to_square=False`). */
  intSizeIsShortest: boolean;
}

// transformers' class defaults for the processors our families ship with
const CLASS_DEFAULTS: Record<string, ClassDefaults> = {
  BitImageProcessor: { size: { shortest_edge: 224 }, resample: 3, crop: 224, mean: CLIP_MEAN, std: CLIP_STD, intSizeIsShortest: true },
  CLIPImageProcessor: { size: { shortest_edge: 224 }, resample: 3, crop: 224, mean: CLIP_MEAN, std: CLIP_STD, intSizeIsShortest: true },
  CLIPFeatureExtractor: { size: { shortest_edge: 224 }, resample: 3, crop: 224, mean: CLIP_MEAN, std: CLIP_STD, intSizeIsShortest: true },
  ViTImageProcessor: { size: { height: 224, width: 224 }, resample: 2, crop: null, mean: HALF, std: HALF, intSizeIsShortest: false },
  ViTFeatureExtractor: { size: { height: 224, width: 224 }, resample: 2, crop: null, mean: HALF, std: HALF, intSizeIsShortest: false },
  DINOv3ViTImageProcessorFast: { size: { height: 224, width: 224 }, resample: 2, crop: null, mean: IMAGENET_MEAN, std: IMAGENET_STD, intSizeIsShortest: false },
  SiglipImageProcessor: { size: { height: 224, width: 224 }, resample: 3, crop: null, mean: HALF, std: HALF, intSizeIsShortest: false },
};

/** Defaults a family supplies when its folder has no preprocessor_config.json. */
export interface ProcessorDefaults {
  type: string;
  size: number;
  resample?: ResampleFilter;
  mean: [number, number, number];
  std: [number, number, number];
}

function toRule(size: z.infer<typeof SizeSchema>, intIsShortest: boolean): ResizeRule {
  if (typeof size === 'number') return intIsShortest ? { kind: 'shortest', shortest: size } : { kind: 'exact', height: size, width: size };
  const s = size as { height?: number; width?: number; shortest_edge?: number; longest_edge?: number | null };
  if (s.height != null && s.width != null) return { kind: 'exact', height: s.height, width: s.width };
  return { kind: 'shortest', shortest: s.shortest_edge!, longest: s.longest_edge ?? undefined };
}

/** Parse a preprocessor config (or build one from family defaults when `raw` is null). */
export function parseImageProcessor(raw: unknown, source: string, fallback?: ProcessorDefaults): ImageProcessor {
  if (raw == null) {
    if (!fallback) throw new Error(`${source}: no preprocessor_config.json and no defaults for this model`);
    return {
      type: fallback.type,
      backend: fallback.type.endsWith('Fast') ? 'torch' : 'pil',
      resize: { kind: 'exact', height: fallback.size, width: fallback.size },
      resample: fallback.resample ?? 'bicubic',
      crop: null,
      rescaleFactor: 1 / 255,
      mean: fallback.mean,
      std: fallback.std,
    };
  }
  const c = parseWith(ProcessorSchema, raw, source);
  const type = c.image_processor_type ?? c.feature_extractor_type ?? fallback?.type ?? 'ImageProcessor';
  const base = type.replace(/Fast$/, '');
  const d: ClassDefaults = CLASS_DEFAULTS[type] ?? CLASS_DEFAULTS[base] ?? {
    size: { height: fallback?.size ?? 224, width: fallback?.size ?? 224 }, resample: 2, crop: null, mean: fallback?.mean ?? IMAGENET_MEAN, std: fallback?.std ?? IMAGENET_STD, intSizeIsShortest: false,
  };
  const doCrop = c.do_center_crop ?? d.crop != null;
  const cropSize = c.crop_size ?? d.crop;
  if (doCrop && cropSize == null) throw new Error(`${source}: do_center_crop is true but there is no crop_size`);
  const cropRule = doCrop && cropSize != null ? toRule(cropSize, false) : null;
  if (cropRule && cropRule.kind !== 'exact') throw new Error(`${source}: crop_size must be {height, width} or an integer, got ${JSON.stringify(cropSize)}`);
  const normalize = c.do_normalize ?? true;
  return {
    type,
    backend: type.endsWith('Fast') ? 'torch' : 'pil',
    resize: (c.do_resize ?? true) ? toRule(c.size ?? d.size, d.intSizeIsShortest) : null,
    resample: PIL_RESAMPLE[c.resample ?? d.resample],
    crop: cropRule && cropRule.kind === 'exact' ? [cropRule.height, cropRule.width] : null,
    rescaleFactor: (c.do_rescale ?? true) ? (c.rescale_factor ?? 1 / 255) : 1,
    mean: normalize ? (c.image_mean ?? d.mean) : [0, 0, 0],
    std: normalize ? (c.image_std ?? d.std) : [1, 1, 1],
  };
}

/** HF `get_resize_output_image_size`: the (height, width) an image of (h, w) is resized to. */
export function resizedSize(h: number, w: number, rule: ResizeRule): [number, number] {
  if (rule.kind === 'exact') return [rule.height, rule.width];
  const [short, long] = w <= h ? [w, h] : [h, w];
  let newShort = rule.shortest;
  let newLong = Math.trunc((rule.shortest * long) / short);
  if (rule.longest != null && newLong > rule.longest) {
    newShort = Math.trunc((rule.longest * newShort) / newLong);
    newLong = rule.longest;
  }
  return w <= h ? [newLong, newShort] : [newShort, newLong];
}

/** Top-left corner of a center crop: HF slow processors floor, torchvision rounds half to even. */
export function centerCropOffset(h: number, w: number, crop: [number, number], backend: ResizeBackend): [number, number] {
  const [ch, cw] = crop;
  if (ch > h || cw > w) throw new Error(`center crop ${ch}×${cw} is larger than the resized image ${h}×${w}`);
  const off = (d: number) => (backend === 'pil' ? Math.floor(d / 2) : roundHalfEven(d / 2));
  return [off(h - ch), off(w - cw)];
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Output (height, width) of the processor for an input of (h, w). */
export function processedSize(p: ImageProcessor, h: number, w: number): [number, number] {
  if (p.crop) return p.crop;
  return p.resize ? resizedSize(h, w, p.resize) : [h, w];
}

/** The fixed output size of a processor, or null when it depends on the input's aspect ratio. */
export function fixedOutputSize(p: ImageProcessor): [number, number] | null {
  if (p.crop) return p.crop;
  if (p.resize?.kind === 'exact') return [p.resize.height, p.resize.width];
  return null;
}
