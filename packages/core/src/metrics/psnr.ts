/** Peak signal-to-noise ratio per image: 10·log10(R² / MSE), images NHWC in [0, R]. */
import { tf, type Tensor } from '../runtime/tf.js';

/** MSE per image [B] of two same-shape image batches [B, H, W, C]. */
export function msePerImage(a: Tensor, b: Tensor): Tensor {
  if (a.shape.join() !== b.shape.join()) throw new Error(`image batches differ in shape: [${a.shape}] vs [${b.shape}]`);
  return tf.tidy(() => a.sub(b).square().reshape([a.shape[0], -1]).mean(1));
}

/** PSNR in dB per image (Infinity for identical images); data range 1 by default. */
export function psnr(a: Tensor, b: Tensor, dataRange = 1): number[] {
  const mse = msePerImage(a, b);
  const m = mse.dataSync();
  mse.dispose();
  return Array.from(m, (v) => 10 * Math.log10((dataRange * dataRange) / v));
}
