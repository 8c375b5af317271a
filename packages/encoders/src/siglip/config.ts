/**
 * SigLIP / SigLIP-2 `config.json` schemas (HF transformers field names and defaults). The vision
 * and text towers are stand-alone configs (`siglip_vision_model`, `siglip_text_model`, and the
 * `siglip2_*` pair) or sit under `vision_config` / `text_config` of a combined `siglip` / `siglip2` config.
 */
import { z } from 'zod';
import { parseWith } from '@raev2/core';
import { headsDivide, hiddenAct, positiveInt } from '../hf/schema.js';

/** Fields shared by every SigLIP transformer tower (HF defaults). */
const tower = {
  hidden_size: positiveInt.default(768),
  intermediate_size: positiveInt.default(3072),
  num_hidden_layers: positiveInt.default(12),
  num_attention_heads: positiveInt.default(12),
  hidden_act: hiddenAct.default('gelu_pytorch_tanh'),
  layer_norm_eps: z.number().positive().default(1e-6),
  attention_dropout: z.number().min(0).max(1).default(0),
};

export const SiglipVisionConfigSchema = z
  .object({
    ...tower,
    num_channels: positiveInt.default(3),
    image_size: positiveInt.default(224),
    patch_size: positiveInt.default(16),
    /** Attention-pooling head (`head.*`); PaliGemma-style towers turn it off. */
    vision_use_head: z.boolean().nullish().transform((v) => v ?? true),
  })
  // image_size need not be a patch multiple (so400m-patch14-384: 27×27 patches, the conv drops 6 px)
  .superRefine(headsDivide);
export type SiglipVisionConfig = z.infer<typeof SiglipVisionConfigSchema>;

export const Siglip2VisionConfigSchema = z
  .object({
    ...tower,
    num_channels: positiveInt.default(3),
    patch_size: positiveInt.default(16),
    /** Size of the learned position table; it is a √n × √n grid resized per image. */
    num_patches: positiveInt.default(256),
    vision_use_head: z.boolean().nullish().transform((v) => v ?? true),
  })
  .superRefine((c, ctx) => {
    headsDivide(c, ctx);
    const side = Math.round(Math.sqrt(c.num_patches));
    if (side * side !== c.num_patches) ctx.addIssue({ code: 'custom', path: ['num_patches'], message: `num_patches ${c.num_patches} is not a perfect square (the position table is a square grid)` });
  });
export type Siglip2VisionConfig = z.infer<typeof Siglip2VisionConfigSchema>;

/** Text tower (identical for SigLIP and SigLIP-2). */
export const SiglipTextConfigSchema = z
  .object({
    ...tower,
    vocab_size: positiveInt.default(32000),
    max_position_embeddings: positiveInt.default(64),
    /** Width of `head` (defaults to hidden_size, as upstream). */
    projection_size: positiveInt.nullish(),
    pad_token_id: z.number().int().nullish(),
    bos_token_id: z.number().int().nullish(),
    eos_token_id: z.number().int().nullish(),
  })
  .superRefine(headsDivide)
  .transform((c) => ({ ...c, projection_size: c.projection_size ?? c.hidden_size }));
export type SiglipTextConfig = z.infer<typeof SiglipTextConfigSchema>;

/** The model types this folder handles. */
export const SIGLIP_MODEL_TYPES = ['siglip', 'siglip2', 'siglip_vision_model', 'siglip_text_model', 'siglip2_vision_model', 'siglip2_text_model'] as const;
export type SiglipModelType = (typeof SIGLIP_MODEL_TYPES)[number];

const modelTypeSchema = z.object({ model_type: z.enum(SIGLIP_MODEL_TYPES) });

/** The part of a config.json that configures one tower, whether stand-alone or combined. */
function towerJson(json: unknown, tower: 'vision' | 'text', source: string): { sub: unknown; where: string; version: 1 | 2 } {
  const { model_type } = parseWith(modelTypeSchema, json, source);
  const version = model_type.startsWith('siglip2') ? 2 : 1;
  if (model_type === 'siglip' || model_type === 'siglip2') {
    const key = `${tower}_config`;
    const sub = (json as Record<string, unknown>)[key];
    if (sub == null || typeof sub !== 'object') throw new Error(`invalid ${source}: model_type "${model_type}" has no "${key}" object`);
    return { sub, where: `${source} (${key})`, version };
  }
  if (!model_type.includes(`_${tower}_`)) throw new Error(`invalid ${source}: model_type "${model_type}" is not a SigLIP ${tower} model`);
  return { sub: json, where: source, version };
}

/** Parse a SigLIP-1 vision config (stand-alone or `vision_config` of a combined config). */
export function parseSiglipVisionConfig(json: unknown, source = 'config.json'): SiglipVisionConfig {
  const t = towerJson(json, 'vision', source);
  if (t.version !== 1) throw new Error(`invalid ${source}: a SigLIP-2 (NaFlex) vision config was given where a SigLIP vision config is expected`);
  return parseWith(SiglipVisionConfigSchema, t.sub, t.where);
}

/** Parse a SigLIP-2 NaFlex vision config. */
export function parseSiglip2VisionConfig(json: unknown, source = 'config.json'): Siglip2VisionConfig {
  const t = towerJson(json, 'vision', source);
  if (t.version !== 2) throw new Error(`invalid ${source}: a SigLIP vision config was given where a SigLIP-2 (NaFlex) vision config is expected`);
  return parseWith(Siglip2VisionConfigSchema, t.sub, t.where);
}

/** Parse a SigLIP / SigLIP-2 text config. */
export function parseSiglipTextConfig(json: unknown, source = 'config.json'): SiglipTextConfig {
  const t = towerJson(json, 'text', source);
  return parseWith(SiglipTextConfigSchema, t.sub, t.where);
}
