/** Family builders for `clip_vision_model` folders and the vision tower of combined `clip` folders. */
import { parseWith } from '@raev2/core';
import { buildFromConfig, type BuiltModel, type FamilyContext } from '../hf/build.js';
import { CLIP_MEAN, CLIP_STD } from '../preprocess/processor.js';
import { ClipConfigSchema, ClipVisionConfigSchema } from './config.js';
import { ClipVisionModel } from './model.js';

// parts of CLIPModel / CLIPVisionModelWithProjection that the vision tower does not use;
// old checkpoints also saved the `position_ids` buffer
const NOT_VISION = [/^text_model\./, /^visual_projection\./, /^text_projection\./, /^logit_scale$/, /position_ids$/];

export function buildClipVision(ctx: FamilyContext): BuiltModel<ClipVisionModel> {
  let config: unknown = ctx.folder.config;
  if (ctx.folder.config.model_type === 'clip') {
    if ((ctx.options.tower ?? 'vision') !== 'vision') throw new Error(`${ctx.folder.id}: only the vision tower of CLIP is implemented`);
    const c = parseWith(ClipConfigSchema, ctx.folder.config, `${ctx.folder.dir}/config.json`);
    config = { ...(c.vision_config ?? {}), model_type: 'clip_vision_model' };
  }
  const model = buildFromConfig(ctx, ClipVisionConfigSchema, config, (c) => new ClipVisionModel(c), 'CLIPVisionModel', { ignore: NOT_VISION });
  return { model, processorDefaults: { type: 'CLIPImageProcessor', size: model.imageSize[0], resample: 'bicubic', mean: CLIP_MEAN, std: CLIP_STD } };
}
