/** Family builders for `dinov2` and `dinov2_with_registers` folders. */
import { buildFromConfig, type BuiltModel, type FamilyContext } from '../hf/build.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../preprocess/processor.js';
import { Dinov2ConfigSchema } from './config.js';
import { Dinov2Model } from './model.js';

export function buildDinov2(ctx: FamilyContext): BuiltModel<Dinov2Model> {
  const model = buildFromConfig(ctx, Dinov2ConfigSchema, ctx.folder.config, (c) => new Dinov2Model(c),
    ctx.folder.config.model_type === 'dinov2' ? 'Dinov2Model' : 'Dinov2WithRegistersModel',
    // image-classification checkpoints wrap the backbone
    { stripPrefixes: ['dinov2.', 'dinov2_with_registers.'], ignore: [/^classifier\./] });
  return { model, processorDefaults: { type: 'BitImageProcessor', size: model.imageSize[0], resample: 'bicubic', mean: IMAGENET_MEAN, std: IMAGENET_STD } };
}
