/**
 * The offline text tower: a small SigLIP-2-architecture text model (the encoders package's
 * `SiglipTextModel`, HF `siglip2_text_model` config), randomly initialised for training from
 * scratch, and the locked-image-tuning pair it is trained with: a trainable linear image head on
 * frozen image features, and the SigLIP temperature / bias (docs/t2i.md).
 */
import { z } from 'zod';
import { tf, Module, Linear, Rng, type Tensor, type Variable } from '@raev2/core';
import { SiglipTextModel, parseSiglipTextConfig, type SiglipTextConfig } from '@raev2/encoders';

/** Shape of the tower to train (HF field names; the rest are SigLIP defaults). */
export const TowerShapeSchema = z
  .object({
    hidden_size: z.number().int().positive().default(128),
    intermediate_size: z.number().int().positive().default(512),
    num_hidden_layers: z.number().int().positive().default(2),
    num_attention_heads: z.number().int().positive().default(4),
    max_position_embeddings: z.number().int().positive().default(64),
    projection_size: z.number().int().positive().default(128),
  })
  .strict();
export type TowerShape = z.infer<typeof TowerShapeSchema>;

/** The HF `config.json` of a tower of this shape over a vocabulary of `vocabSize` ids. */
export function towerConfigJson(shape: TowerShape, vocabSize: number, ids: { pad: number; eos: number }): Record<string, unknown> {
  return {
    architectures: ['Siglip2TextModel'],
    model_type: 'siglip2_text_model',
    vocab_size: vocabSize,
    ...shape,
    hidden_act: 'gelu_pytorch_tanh',
    layer_norm_eps: 1e-6,
    attention_dropout: 0,
    pad_token_id: ids.pad,
    eos_token_id: ids.eos,
    bos_token_id: null,
    torch_dtype: 'float32',
  };
}

/**
 * A randomly initialised tower: embeddings and linear weights N(0, 0.02²) (seeded), biases 0,
 * LayerNorm scales 1 (the HF SigLIP init up to its truncation).
 */
export function createTextTower(config: SiglipTextConfig | Record<string, unknown>, seed = 0): SiglipTextModel {
  const cfg = 'projection_size' in config && typeof config.hidden_size === 'number' && 'layer_norm_eps' in config ? (config as SiglipTextConfig) : parseSiglipTextConfig(config);
  const model = new SiglipTextModel(cfg);
  const rng = new Rng(seed);
  for (const [name, v] of model.namedParameters()) {
    if (v.rank === 2) v.assign(tf.tidy(() => rng.randn(v.shape, 0, 0.02)));
  }
  return model.train();
}

/** Trainable pieces of locked-image tuning: image head (frozen features → P), t' and b. */
export class LockedImageHead extends Module {
  readonly proj: Linear;
  readonly logit_scale: Variable;
  readonly logit_bias: Variable;
  constructor(readonly featureDim: number, readonly dim: number, seed = 0) {
    super();
    this.proj = this.child('proj', new Linear(featureDim, dim, { rng: new Rng(seed + 1) }));
    this.logit_scale = this.param('logit_scale', tf.scalar(Math.log(10)));
    this.logit_bias = this.param('logit_bias', tf.scalar(-10));
  }
  /** frozen image features [B, F] → image embeddings [B, P] */
  forward(features: Tensor): Tensor {
    return this.proj.forward(features);
  }
}
