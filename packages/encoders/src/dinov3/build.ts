/** Family builder for `dinov3_vit` folders. */
import { buildFromConfig, type BuiltModel, type FamilyContext } from '../hf/build.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../preprocess/processor.js';
import { Dinov3ConfigSchema } from './config.js';
import { Dinov3Model } from './model.js';

export function buildDinov3(ctx: FamilyContext): BuiltModel<Dinov3Model> {
  const model = buildFromConfig(ctx, Dinov3ConfigSchema, ctx.folder.config, (c) => new Dinov3Model(c), 'DINOv3ViTModel',
    { stripPrefixes: ['dinov3_vit.'], ignore: [/^classifier\./, /rope_embeddings\.inv_freq$/] });
  return { model, processorDefaults: { type: 'DINOv3ViTImageProcessorFast', size: model.imageSize[0], resample: 'bilinear', mean: IMAGENET_MEAN, std: IMAGENET_STD } };
}
