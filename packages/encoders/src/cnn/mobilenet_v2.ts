/**
 * MobileNetV2 (Keras layout, α = 1.0) from nsfwjs as an encoder. Block outputs are the residual
 * `block_i_add` layers, or `block_i_project_BN` for a block that opens a stage (no residual).
 * Stages (input side 224 → grid 14 at stride 16, 7 at stride 32):
 *   6-9    stride 16, 64 ch:  block_6_project_BN, block_7_add, block_8_add, block_9_add  (input: block_5_add, 28×28×32, pooled)
 *   10-12  stride 16, 96 ch:  block_10_project_BN, block_11_add, block_12_add           (input: block_9_add, 14×14×64) — default
 *   13-15  stride 32, 160 ch: block_13_project_BN, block_14_add, block_15_add           (input: block_12_add, 14×14×96, pooled)
 */
import type { CnnGeometry, CnnStage } from './stage_encoder.js';

const out = (i: number, opensStage: boolean): string => (opensStage ? `block_${i}_project_BN` : `block_${i}_add`);
const blocks = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, k) => out(from + k, k === 0));

export const MOBILENET_V2_STAGES: CnnStage[] = [
  { id: '6-9', description: 'blocks 6–9, stride 16, 64 channels', inputLayer: 'block_5_add', blockLayers: blocks(6, 9), channels: 64, patchSize: 16 },
  { id: '10-12', description: 'blocks 10–12, stride 16, 96 channels', inputLayer: 'block_9_add', blockLayers: blocks(10, 12), channels: 96, patchSize: 16 },
  { id: '13-15', description: 'blocks 13–15, stride 32, 160 channels', inputLayer: 'block_12_add', blockLayers: blocks(13, 15), channels: 160, patchSize: 32 },
];
export const MOBILENET_V2_DEFAULT_STAGE = '10-12';
/** nsfwjs feeds MobileNetV2 224×224. */
export const MOBILENET_V2_INPUT = 224;

/** All padding is "same"/explicit-correct, so a side that is a multiple of the stride maps to side/stride. */
export function mobilenetGeometry(stride: number): CnnGeometry {
  return {
    inputSizeForGrid: (g) => g * stride,
    gridForInputSize: (s) => {
      if (s % stride !== 0 || s < stride) throw new Error(`MobileNetV2 stage at stride ${stride}: image side ${s} must be a positive multiple of ${stride}`);
      return s / stride;
    },
  };
}
