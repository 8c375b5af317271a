/** `config.json` of HF `Dinov2Model` / `Dinov2WithRegistersModel` (field names and defaults as in transformers). */
import { z } from 'zod';
import { baseConfigFields, headsDivide, hiddenAct, positiveInt, positiveNumber } from '../hf/schema.js';

export const Dinov2ConfigSchema = z
  .looseObject({
    ...baseConfigFields,
    model_type: z.enum(['dinov2', 'dinov2_with_registers']),
    hidden_size: positiveInt.default(768),
    num_hidden_layers: positiveInt.default(12),
    num_attention_heads: positiveInt.default(12),
    mlp_ratio: positiveNumber.default(4),
    hidden_act: hiddenAct.default('gelu'),
    layer_norm_eps: positiveNumber.default(1e-6),
    image_size: positiveInt.default(224),
    patch_size: positiveInt.default(14),
    num_channels: positiveInt.default(3),
    qkv_bias: z.boolean().default(true),
    layerscale_value: z.number().default(1),
    use_swiglu_ffn: z.boolean().default(false),
    /** Only Dinov2Model can drop its (unused at inference) mask token; the registers class always has one. */
    use_mask_token: z.boolean().default(true),
    num_register_tokens: z.number().int().min(0).default(4),
  })
  .superRefine(headsDivide);
export type Dinov2Config = z.infer<typeof Dinov2ConfigSchema>;
