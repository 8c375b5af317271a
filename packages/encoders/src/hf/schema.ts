/**
 * zod building blocks shared by the HF family config schemas: field types with HF's defaults,
 * a check that heads divide the width, and a refinement for options we do not implement.
 */
import { z } from 'zod';

export const positiveInt = z.number().int().positive();
export const positiveNumber = z.number().positive();

/** Fields every HF `config.json` may carry; `dtype` (transformers 5) and `torch_dtype` (4.x) are both accepted. */
export const baseConfigFields = {
  model_type: z.string(),
  dtype: z.string().nullish(),
  torch_dtype: z.string().nullish(),
};

/** hidden_size must split evenly into attention heads. */
export function headsDivide(c: { hidden_size: number; num_attention_heads: number }, ctx: z.RefinementCtx): void {
  if (c.hidden_size % c.num_attention_heads !== 0) {
    ctx.addIssue({ code: 'custom', path: ['num_attention_heads'], message: `hidden_size ${c.hidden_size} is not divisible by num_attention_heads ${c.num_attention_heads}` });
  }
}

/** Reject a config value this implementation does not support, saying what is supported. */
export function unsupported(ctx: z.RefinementCtx, field: string, value: unknown, supported: string): void {
  ctx.addIssue({ code: 'custom', path: [field], message: `${JSON.stringify(value)} is not supported (supported: ${supported})` });
}

/** An activation name known to core's `activation()` (HF `hidden_act`). */
export const hiddenAct = z.enum(['gelu', 'gelu_pytorch_tanh', 'gelu_new', 'gelu_fast', 'quick_gelu', 'silu', 'swish', 'relu']);
