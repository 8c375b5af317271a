/** `config.json` of HF `DINOv3ViTModel` (field names and defaults as in transformers' DINOv3ViTConfig). */
import { z } from 'zod';
import { baseConfigFields, headsDivide, hiddenAct, positiveInt, positiveNumber } from '../hf/schema.js';

export const Dinov3ConfigSchema = z
  .looseObject({
    ...baseConfigFields,
    model_type: z.literal('dinov3_vit'),
    hidden_size: positiveInt.default(384),
    intermediate_size: positiveInt.default(1536),
    num_hidden_layers: positiveInt.default(12),
    num_attention_heads: positiveInt.default(6),
    hidden_act: hiddenAct.default('gelu'),
    layer_norm_eps: positiveNumber.default(1e-5),
    rope_theta: positiveNumber.default(100),
    image_size: positiveInt.default(224),
    patch_size: positiveInt.default(16),
    num_channels: positiveInt.default(3),
    query_bias: z.boolean().default(true),
    key_bias: z.boolean().default(false),
    value_bias: z.boolean().default(true),
    proj_bias: z.boolean().default(true),
    mlp_bias: z.boolean().default(true),
    layerscale_value: z.number().default(1),
    use_gated_mlp: z.boolean().default(false),
    num_register_tokens: z.number().int().min(0).default(0),
  })
  .superRefine((c, ctx) => {
    headsDivide(c, ctx);
    // 2-D RoPE splits each head into 4 equal frequency bands (y/x × sin/cos halves)
    if ((c.hidden_size / c.num_attention_heads) % 4 !== 0) {
      ctx.addIssue({ code: 'custom', path: ['num_attention_heads'], message: `head dim ${c.hidden_size / c.num_attention_heads} must be a multiple of 4 for 2-D RoPE` });
    }
  });
export type Dinov3Config = z.infer<typeof Dinov3ConfigSchema>;
