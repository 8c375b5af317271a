/**
 * DiffAugment (Zhao et al. 2020) for the discriminator's inputs: differentiable colour,
 * translation and cutout with the original magnitudes, applied in [−1, 1] space as upstream (so a
 * zero fill is mid-grey in [0, 1]). Parameters are drawn per sample from a seeded Rng on the host,
 * so the same seed gives the same augmentation; every op is a pad/slice/elementwise op
 * (differentiable on every backend, no gather).
 */
import { z } from 'zod';
import { tf, type Tensor } from '../../runtime/tf.js';
import type { Rng } from '../../runtime/rng.js';

export const DIFFAUG_POLICIES = ['color', 'translation', 'cutout'] as const;
export type DiffAugPolicy = (typeof DIFFAUG_POLICIES)[number];

export const DiffAugSchema = z
  .object({
    policies: z.array(z.enum(DIFFAUG_POLICIES)).default(['color', 'translation', 'cutout']),
    /** Largest shift as a fraction of the side (DiffAugment: 1/8). */
    translationRatio: z.number().min(0).max(0.5).default(0.125),
    /** Cutout square side as a fraction of the side (DiffAugment: 1/2; the published stage-1 config: 0, no cutout). */
    cutoutRatio: z.number().min(0).max(1).default(0),
  })
  .strict();
export type DiffAugOptions = z.input<typeof DiffAugSchema>;

/** Apply the policies in order to images NHWC in [0,1]; returns [0,1]-space images (not clamped). */
export function diffAugment(images: Tensor, rng: Rng, options: DiffAugOptions = {}): Tensor {
  const o = DiffAugSchema.parse(options);
  const [b, h, w] = images.shape;
  // draw every random number up front, in a fixed order, so the result depends only on the rng state
  const draws = o.policies.map((p) => ({ p, params: drawParams(p, b, h, w, o, rng) }));
  return tf.tidy(() => {
    let x = images.mul(2).sub(1);
    for (const { p, params } of draws) x = APPLY[p](x, params);
    return x.add(1).mul(0.5);
  });
}

type Params = Float32Array[];

function drawParams(p: DiffAugPolicy, b: number, h: number, w: number, o: z.output<typeof DiffAugSchema>, rng: Rng): Params {
  if (p === 'color') return [rng.uniformArray(b, -0.5, 0.5), rng.uniformArray(b, 0, 2), rng.uniformArray(b, 0.5, 1.5)];
  if (p === 'translation') {
    const sh = Math.round(h * o.translationRatio), sw = Math.round(w * o.translationRatio);
    return [Float32Array.from({ length: b }, () => rng.int(2 * sh + 1) - sh), Float32Array.from({ length: b }, () => rng.int(2 * sw + 1) - sw), Float32Array.of(sh, sw)];
  }
  const ch = Math.round(h * o.cutoutRatio), cw = Math.round(w * o.cutoutRatio);
  // centre offsets as DiffAugment: randint(0, side + (1 − cut % 2))
  return [Float32Array.from({ length: b }, () => rng.int(h + (1 - (ch % 2)))), Float32Array.from({ length: b }, () => rng.int(w + (1 - (cw % 2)))), Float32Array.of(ch, cw)];
}

const perSample = (v: Float32Array): Tensor => tf.tensor4d(v, [v.length, 1, 1, 1]);

const APPLY: Record<DiffAugPolicy, (x: Tensor, p: Params) => Tensor> = {
  /** brightness + U(−½, ½); saturation ×U(0, 2) about the pixel's channel mean; contrast ×U(½, 3⁄2) about the image mean. */
  color: (x, [bright, sat, con]) => {
    let y = x.add(perSample(bright));
    const pm = y.mean(3, true);
    y = y.sub(pm).mul(perSample(sat)).add(pm);
    const im = y.mean([1, 2, 3], true);
    return y.sub(im).mul(perSample(con)).add(im);
  },
  /** Shift each image by (ty, tx) pixels, filling with zeros: pad by the maximum shift, then crop. */
  translation: (x, [ty, tx, [sh, sw]]) => {
    if (sh === 0 && sw === 0) return x;
    const [b, h, w, c] = x.shape;
    const padded = x.pad([[0, 0], [sh, sh], [sw, sw], [0, 0]]);
    // output(i, j) = input(i + ty, j + tx), as DiffAugment's grid offset
    const crops = Array.from({ length: b }, (_, n) => padded.slice([n, sh + ty[n], sw + tx[n], 0], [1, h, w, c]));
    return tf.concat(crops, 0);
  },
  /** Zero a square of side ratio·H × ratio·W per image (clipped at the borders). */
  cutout: (x, [oy, ox, [ch, cw]]) => {
    const [b, h, w] = x.shape;
    const mask = new Float32Array(b * h * w).fill(1);
    for (let n = 0; n < b; n++) {
      const y0 = Math.max(0, oy[n] - Math.floor(ch / 2)), y1 = Math.min(h, oy[n] - Math.floor(ch / 2) + ch);
      const x0 = Math.max(0, ox[n] - Math.floor(cw / 2)), x1 = Math.min(w, ox[n] - Math.floor(cw / 2) + cw);
      for (let i = y0; i < y1; i++) mask.fill(0, n * h * w + i * w + x0, n * h * w + i * w + Math.max(x0, x1));
    }
    return x.mul(tf.tensor4d(mask, [b, h, w, 1]));
  },
};
