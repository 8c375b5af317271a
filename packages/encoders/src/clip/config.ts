/**
 * `config.json` of HF `CLIPVisionModel` (`clip_vision_model`), or the `vision_config` of a combined
 * `CLIPModel` (`clip`) checkpoint; defaults as in transformers' CLIPVisionConfig.
 */
import { z } from 'zod';
import { baseConfigFields, headsDivide, hiddenAct, positiveInt, positiveNumber } from '../hf/schema.js';

export const ClipVisionConfigSchema = z
  .looseObject({
    ...baseConfigFields,
    model_type: z.literal('clip_vision_model').default('clip_vision_model'),
    hidden_size: positiveInt.default(768),
    intermediate_size: positiveInt.default(3072),
    num_hidden_layers: positiveInt.default(12),
    num_attention_heads: positiveInt.default(12),
    num_channels: positiveInt.default(3),
    image_size: positiveInt.default(224),
    patch_size: positiveInt.default(32),
    hidden_act: hiddenAct.default('quick_gelu'),
    layer_norm_eps: positiveNumber.default(1e-5),
  })
  .superRefine(headsDivide);
export type ClipVisionConfig = z.infer<typeof ClipVisionConfigSchema>;

/** A combined CLIPModel config: only its vision tower is read here. */
export const ClipConfigSchema = z.looseObject({
  model_type: z.literal('clip'),
  vision_config: z.record(z.string(), z.unknown()).nullish(),
});
