/**
 * Run an image processor. `preprocessImages` is the tensor path used by encoders (NHWC float in
 * [0, 1] → NCHW normalised; differentiable, resize as two matmuls); `preprocessUint8` is the host
 * path for 8-bit images that reproduces PIL-based processors bit for bit.
 */
import { tf, type Tensor } from '@raev2/core';
import { resizeChannelsLast } from '../vit/interpolate.js';
import { pilResizeUint8, resizeWeights } from './resample.js';
import { centerCropOffset, resizedSize, type ImageProcessor } from './processor.js';

export interface PreprocessOptions {
  /**
   * 'processor' (default): exactly the processor's steps (resize rule, then center crop).
   * 'resize': resize the whole image to `size` with the processor's filter, no crop — what an
   * autoencoder needs, since the decoder must reconstruct the full input.
   */
  mode?: 'processor' | 'resize';
  /** Target (height, width) for mode 'resize'. */
  size?: [number, number];
}

/** Images NHWC [B, H, W, 1|3|4] in [0, 1] → pixel values NCHW [B, 3, h, w] normalised as the processor does. */
export function preprocessImages(images: Tensor, p: ImageProcessor, opts: PreprocessOptions = {}): Tensor {
  if (images.rank !== 4) throw new Error(`images must be NHWC [B, H, W, C] in [0, 1], got shape [${images.shape}]`);
  const [, h, w, c] = images.shape;
  if (c !== 1 && c !== 3 && c !== 4) throw new Error(`images must have 1, 3 or 4 channels (NHWC), got ${c}`);
  const mode = opts.mode ?? 'processor';
  if (mode === 'resize' && !opts.size) throw new Error("preprocess mode 'resize' needs a target size");
  return tf.tidy(() => {
    // RGB like `do_convert_rgb`: grey is repeated, alpha dropped
    let x = c === 1 ? tf.tile(images, [1, 1, 1, 3]) : c === 4 ? images.slice([0, 0, 0, 0], [-1, -1, -1, 3]) : images;
    const target = mode === 'resize' ? opts.size! : p.resize ? resizedSize(h, w, p.resize) : ([h, w] as [number, number]);
    if (target[0] !== h || target[1] !== w) {
      x = resizeChannelsLast(x, resizeWeights(h, target[0], p.resample, p.backend), resizeWeights(w, target[1], p.resample, p.backend), target);
    }
    if (mode === 'processor' && p.crop) {
      const [top, left] = centerCropOffset(target[0], target[1], p.crop, p.backend);
      x = x.slice([0, top, left, 0], [-1, p.crop[0], p.crop[1], -1]);
    }
    // 8-bit value × rescale factor, then (x − mean)/std, channel-wise
    const scale = tf.tensor1d(p.std.map((s) => (255 * p.rescaleFactor) / s));
    const shift = tf.tensor1d(p.mean.map((m, i) => m / p.std[i]));
    return x.mul(scale).sub(shift).transpose([0, 3, 1, 2]);
  });
}

/** An 8-bit RGB image, HWC interleaved. */
export interface ImageU8 {
  data: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

const f32 = Math.fround;

/**
 * One 8-bit image → NCHW float32 [3, h, w] on the host. PIL processors: PIL's 8-bit resize, HF's
 * floor center crop, float64 rescale then float32 normalise (bit-exact). Fast (torchvision)
 * processors: rescale then resize in float (exact for DINOv3's processor, which rescales first).
 */
export function preprocessUint8(img: ImageU8, p: ImageProcessor): Float32Array {
  if (img.channels !== 3) throw new Error(`preprocessUint8 expects RGB (3 channels), got ${img.channels}`);
  const [h, w] = p.resize ? resizedSize(img.height, img.width, p.resize) : [img.height, img.width];
  let values: Float64Array;
  if (p.backend === 'pil') {
    const resized = pilResizeUint8(img.data, img.height, img.width, 3, h, w, p.resample);
    values = Float64Array.from(resized, (v) => f32(v * p.rescaleFactor));
  } else {
    const src = Float64Array.from(img.data, (v) => f32(v * p.rescaleFactor));
    values = resizeHost(src, img.height, img.width, h, w, resizeWeights(img.height, h, p.resample, 'torch'), resizeWeights(img.width, w, p.resample, 'torch'));
  }
  const [top, left] = p.crop ? centerCropOffset(h, w, p.crop, p.backend) : [0, 0];
  const [oh, ow] = p.crop ?? [h, w];
  const out = new Float32Array(3 * oh * ow);
  for (let ch = 0; ch < 3; ch++) {
    const mean = f32(p.mean[ch]), std = f32(p.std[ch]);
    for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) {
      out[(ch * oh + y) * ow + x] = f32(f32(f32(values[((top + y) * w + left + x) * 3 + ch]) - mean) / std);
    }
  }
  return out;
}

/** Separable float resize of an HWC (3-channel) host image: columns then rows, float32 sums as PyTorch. */
function resizeHost(src: Float64Array, h: number, w: number, oh: number, ow: number, wy: Float64Array, wx: Float64Array): Float64Array {
  const tmp = new Float64Array(h * ow * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < ow; x++) for (let c = 0; c < 3; c++) {
    let s = 0;
    for (let j = 0; j < w; j++) if (wx[x * w + j] !== 0) s = f32(s + f32(src[(y * w + j) * 3 + c] * wx[x * w + j]));
    tmp[(y * ow + x) * 3 + c] = s;
  }
  const out = new Float64Array(oh * ow * 3);
  for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) for (let c = 0; c < 3; c++) {
    let s = 0;
    for (let j = 0; j < h; j++) if (wy[y * h + j] !== 0) s = f32(s + f32(tmp[(j * ow + x) * 3 + c] * wy[y * h + j]));
    out[(y * ow + x) * 3 + c] = s;
  }
  return out;
}
