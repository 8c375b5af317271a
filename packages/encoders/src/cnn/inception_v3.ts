/**
 * InceptionV3 (Keras layout) from nsfwjs as an encoder. Its stem uses "valid" convolutions, so the
 * grid is not side/stride: at 299 px the 17×17 stage holds mixed4…mixed7 (768 ch) and the 8×8 stage
 * mixed9, mixed10 (2048 ch). We treat a grid cell as a 16-px (resp. 32-px) patch: a latent grid g
 * stands for a (16·g)² image, which preprocess resamples to the smallest network input giving grid g
 * (g = 17 ↔ 299 px).
 *   mixed4-7   17×17 at 299, 768 ch:  mixed4, mixed5, mixed6, mixed7 (input: mixed3, 768 ch) — default
 *   mixed9-10  8×8 at 299, 2048 ch:   mixed9, mixed10                 (input: mixed8, 1280 ch)
 */
import type { CnnGeometry, CnnStage } from './stage_encoder.js';

export const INCEPTION_V3_STAGES: CnnStage[] = [
  { id: 'mixed4-7', description: 'mixed4–mixed7, 17×17 at 299 px, 768 channels', inputLayer: 'mixed3', blockLayers: ['mixed4', 'mixed5', 'mixed6', 'mixed7'], channels: 768, patchSize: 16 },
  { id: 'mixed9-10', description: 'mixed9–mixed10, 8×8 at 299 px, 2048 channels', inputLayer: 'mixed8', blockLayers: ['mixed9', 'mixed10'], channels: 2048, patchSize: 32 },
];
export const INCEPTION_V3_DEFAULT_STAGE = 'mixed4-7';
/** nsfwjs feeds InceptionV3 299×299. */
export const INCEPTION_V3_INPUT = 299;

const valid = (n: number, k: number, s: number): number => Math.floor((n - k) / s) + 1;

/** Spatial side after the stem and reductions (Keras InceptionV3 layer by layer). */
export function inceptionGrid(side: number, stage: '17' | '8'): number {
  let n = valid(side, 3, 2); // conv2d_1 3×3/2 valid
  n = valid(n, 3, 1); // conv2d_2 3×3 valid; conv2d_3 is "same"
  n = valid(n, 3, 2); // max_pooling2d_1
  n = valid(n, 3, 1); // conv2d_5 3×3 valid (conv2d_4 is 1×1)
  n = valid(n, 3, 2); // max_pooling2d_2 → 35 at 299
  n = valid(n, 3, 2); // mixed3 reduction → 17
  return stage === '17' ? n : valid(n, 3, 2); // mixed8 reduction → 8
}

export function inceptionGeometry(stage: '17' | '8'): CnnGeometry {
  return {
    inputSizeForGrid: (g) => {
      if (!Number.isInteger(g) || g < 1) throw new Error(`InceptionV3: grid ${g} must be a positive integer`);
      let s = 75; // the smallest side the stem accepts
      while (inceptionGrid(s, stage) < g) s++;
      return s;
    },
    gridForInputSize: (s) => {
      if (s < 75) throw new Error(`InceptionV3: input side ${s} is below the minimum 75 px`);
      return inceptionGrid(s, stage);
    },
  };
}
