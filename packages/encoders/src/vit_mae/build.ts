/** Family builder for `vit_mae` folders (ViTMAEModel, or the encoder of a ViTMAEForPreTraining checkpoint). */
import { buildFromConfig, type BuiltModel, type FamilyContext } from '../hf/build.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../preprocess/processor.js';
import { ViTMAEConfigSchema } from './config.js';
import { ViTMAEModel } from './model.js';

export function buildViTMAE(ctx: FamilyContext): BuiltModel<ViTMAEModel> {
  const model = buildFromConfig(ctx, ViTMAEConfigSchema, ctx.folder.config, (c) => new ViTMAEModel(c), 'ViTMAEModel',
    // ViTMAEForPreTraining stores the encoder under `vit.` beside its pixel decoder
    { stripPrefixes: ['vit.'], ignore: [/^decoder\./] });
  return { model, processorDefaults: { type: 'ViTImageProcessor', size: model.imageSize[0], resample: 'bilinear', mean: IMAGENET_MEAN, std: IMAGENET_STD } };
}
