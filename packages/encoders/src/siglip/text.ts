/**
 * HF `SiglipTextModel` (also `Siglip2TextModel`, which is the same network): token + learned
 * position embeddings, the SigLIP encoder, `final_layer_norm`, and `head` (Linear) applied to the
 * LAST position's token, whatever it holds (SigLIP pads to a fixed length and pools position L−1).
 */
import { tf, type Tensor, Module, LayerNorm, Linear, keyPaddingMask } from '@raev2/core';
import type { SiglipTextConfig } from './config.js';
import { Embedding, SiglipEncoder } from './layers.js';

export interface SiglipTextOutput {
  /** [embeddings, block 1 output, …, block L output], each [B, L, D]. */
  hiddenStates: Tensor[];
  /** final_layer_norm(hiddenStates[L]) [B, L, D] */
  lastHiddenState: Tensor;
  /** head(lastHiddenState[:, L−1]) [B, projection_size] */
  poolerOutput: Tensor;
}

export function disposeTextOutput(o: SiglipTextOutput): void {
  for (const h of o.hiddenStates) h.dispose();
  o.lastHiddenState.dispose();
  o.poolerOutput.dispose();
}

export class SiglipTextEmbeddings extends Module {
  readonly token_embedding: Embedding;
  readonly position_embedding: Embedding;
  constructor(readonly config: SiglipTextConfig) {
    super();
    this.token_embedding = this.child('token_embedding', new Embedding(config.vocab_size, config.hidden_size));
    this.position_embedding = this.child('position_embedding', new Embedding(config.max_position_embeddings, config.hidden_size));
  }
  /** ids int32 [B, L] → [B, L, D] with positions 0…L−1 */
  forward(ids: Tensor): Tensor {
    return tf.tidy(() => {
      const len = ids.shape[1] as number;
      return this.token_embedding.forward(ids).add(this.position_embedding.weight.slice([0, 0], [len, -1]));
    });
  }
}

/** `text_model.*` */
export class SiglipTextTransformer extends Module {
  readonly embeddings: SiglipTextEmbeddings;
  readonly encoder: SiglipEncoder;
  readonly final_layer_norm: LayerNorm;
  readonly head: Linear;
  constructor(readonly config: SiglipTextConfig) {
    super();
    this.embeddings = this.child('embeddings', new SiglipTextEmbeddings(config));
    this.encoder = this.child('encoder', new SiglipEncoder(config));
    this.final_layer_norm = this.child('final_layer_norm', new LayerNorm(config.hidden_size, config.layer_norm_eps));
    this.head = this.child('head', new Linear(config.hidden_size, config.projection_size, { init: 'zeros' }));
  }

  /**
   * input ids [B, L] (int) and optional attention mask [B, L] (1 = real token) → outputs.
   * Canonical SigLIP usage passes no mask (pad tokens are attended, as in training).
   */
  forward(inputIds: Tensor, attentionMask?: Tensor | null): SiglipTextOutput {
    checkIds(inputIds, this.config);
    if (attentionMask != null && (attentionMask.rank !== 2 || attentionMask.shape[0] !== inputIds.shape[0] || attentionMask.shape[1] !== inputIds.shape[1])) {
      throw new Error(`attention_mask must have the shape of input_ids [${inputIds.shape}], got [${attentionMask.shape}]`);
    }
    const emb = this.embeddings.forward(inputIds);
    const mask = attentionMask == null ? null : keyPaddingMask(attentionMask);
    const hiddenStates = this.encoder.forward(emb, mask);
    emb.dispose();
    mask?.dispose();
    const lastHiddenState = this.final_layer_norm.forward(hiddenStates[hiddenStates.length - 1]);
    const poolerOutput = tf.tidy(() => {
      const [b, l, d] = lastHiddenState.shape;
      return this.head.forward(lastHiddenState.slice([0, l - 1, 0], [b, 1, d]).reshape([b, d]));
    });
    return { hiddenStates, lastHiddenState, poolerOutput };
  }
}

/** Ids must be a 2-D integer batch within the vocabulary and the position table (checked on the host: gather does not). */
function checkIds(ids: Tensor, c: SiglipTextConfig): void {
  if (ids.rank !== 2) throw new Error(`input_ids must be [B, L], got [${ids.shape}]`);
  if (ids.dtype !== 'int32') throw new Error(`input_ids must be int32, got ${ids.dtype}`);
  const len = ids.shape[1] as number;
  if (len < 1 || len > c.max_position_embeddings) throw new Error(`input_ids length ${len} is outside 1…max_position_embeddings (${c.max_position_embeddings})`);
  const data = ids.dataSync();
  for (let i = 0; i < data.length; i++) {
    if (data[i] < 0 || data[i] >= c.vocab_size) throw new Error(`input_ids contains id ${data[i]} outside the vocabulary [0, ${c.vocab_size})`);
  }
}

/** HF `SiglipTextModel` / `Siglip2TextModel`: state-dict keys `text_model.*`. */
export class SiglipTextModel extends Module {
  readonly modelType = 'siglip_text_model';
  readonly text_model: SiglipTextTransformer;
  constructor(readonly config: SiglipTextConfig) {
    super();
    this.text_model = this.child('text_model', new SiglipTextTransformer(config));
    this.eval();
  }
  forward(inputIds: Tensor, attentionMask?: Tensor | null): SiglipTextOutput {
    return this.text_model.forward(inputIds, attentionMask);
  }
}
