/**
 * The family dispatch table: config.json `model_type` → builder. Adding a family is one line here
 * plus a builder `(ctx) => { model, processorDefaults? }` in the family's folder.
 */
import type { FamilyBuilder } from './build.js';
import { buildDinov2 } from '../dinov2/build.js';
import { buildDinov3 } from '../dinov3/build.js';
import { buildViTMAE } from '../vit_mae/build.js';
import { buildClipVision } from '../clip/build.js';
import { buildSiglip } from '../siglip/build.js';
import { buildSiglip2 } from '../siglip2/build.js';

export const families: Record<string, FamilyBuilder> = {
  dinov2: buildDinov2,
  dinov2_with_registers: buildDinov2,
  dinov3_vit: buildDinov3,
  vit_mae: buildViTMAE,
  clip_vision_model: buildClipVision,
  clip: buildClipVision,
  siglip: buildSiglip,
  siglip_vision_model: buildSiglip,
  siglip_text_model: buildSiglip,
  siglip2: buildSiglip2,
  siglip2_vision_model: buildSiglip2,
  siglip2_text_model: buildSiglip2,
};
