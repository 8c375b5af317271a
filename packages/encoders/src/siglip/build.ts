/** Family builders (hf/families.ts) for SigLIP folders: `siglip`, `siglip_vision_model`, `siglip_text_model`. */
import type { BuiltModel, FamilyContext } from '../hf/build.js';
import { siglipTextFromFolder, siglipVisionFromFolder } from './load.js';

const HALF: [number, number, number] = [0.5, 0.5, 0.5];

/** The vision tower (default) or, with `tower: 'text'` or a text-only folder, the text tower. */
export function buildSiglip(ctx: FamilyContext): BuiltModel {
  const textOnly = ctx.folder.config.model_type === 'siglip_text_model';
  if (textOnly || ctx.options.tower === 'text') return { model: siglipTextFromFolder(ctx.folder) };
  const model = siglipVisionFromFolder(ctx.folder);
  // SiglipImageProcessor: resize to image_size with PIL bicubic, rescale 1/255, mean/std 0.5
  return { model, processorDefaults: { type: 'SiglipImageProcessor', size: model.imageSize[0], resample: 'bicubic', mean: HALF, std: HALF } };
}
