/** Family builders (hf/families.ts) for SigLIP-2 NaFlex folders: `siglip2`, `siglip2_vision_model`, `siglip2_text_model`. */
import * as path from 'node:path';
import type { BuiltModel, FamilyContext } from '../hf/build.js';
import { siglip2VisionFromFolder, siglipTextFromFolder } from '../siglip/load.js';
import { parseSiglip2Processor } from './processor.js';
import { Siglip2ImageTower } from './tower.js';

/**
 * The vision tower (default) as a fixed-resolution image tower, or the text tower. The default
 * square side uses the processor's patch budget: ⌊√max_num_patches⌋ patches per side.
 */
export function buildSiglip2(ctx: FamilyContext): BuiltModel {
  const textOnly = ctx.folder.config.model_type === 'siglip2_text_model';
  if (textOnly || ctx.options.tower === 'text') return { model: siglipTextFromFolder(ctx.folder) };
  const naflex = siglip2VisionFromFolder(ctx.folder);
  try {
    const proc = parseSiglip2Processor(ctx.folder.processorConfig, path.join(ctx.folder.dir, 'preprocessor_config.json'));
    const side = Math.floor(Math.sqrt(proc.maxNumPatches)) * naflex.config.patch_size;
    const model = new Siglip2ImageTower(naflex, side);
    return { model, processorDefaults: { type: 'Siglip2ImageProcessor', size: side, resample: proc.resample, mean: proc.mean, std: proc.std } };
  } catch (e) {
    naflex.dispose();
    throw e;
  }
}
