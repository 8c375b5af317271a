/** `config.json` of HF `ViTMAEModel` (encoder fields; the decoder_* fields of ViTMAEForPreTraining are ignored). */
import { z } from 'zod';
import { baseConfigFields, headsDivide, hiddenAct, positiveInt, positiveNumber } from '../hf/schema.js';

export const ViTMAEConfigSchema = z
  .looseObject({
    ...baseConfigFields,
    model_type: z.literal('vit_mae'),
    hidden_size: positiveInt.default(768),
    num_hidden_layers: positiveInt.default(12),
    num_attention_heads: positiveInt.default(12),
    intermediate_size: positiveInt.default(3072),
    hidden_act: hiddenAct.default('gelu'),
    layer_norm_eps: positiveNumber.default(1e-12),
    image_size: positiveInt.default(224),
    patch_size: positiveInt.default(16),
    num_channels: positiveInt.default(3),
    qkv_bias: z.boolean().default(true),
    mask_ratio: z.number().min(0).max(1).default(0.75),
  })
  .superRefine(headsDivide);
export type ViTMAEConfig = z.infer<typeof ViTMAEConfigSchema>;
