/**
 * Class-label embedding with a null class (index = numClasses, used for CFG), looked up by a
 * one-hot matmul so the table gets gradients on wasm (which lacks UnsortedSegmentSum, the
 * gradient kernel of gather). Optional learned tokens make it the RAEv2 in-context condition.
 */
import { tf, type Tensor, type Variable } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import { Module } from './module.js';
import { defaultRng, normalInit } from './init.js';

/** Labels as an int32 tensor [B] (accepts a number array or a tensor of any numeric dtype). */
export function toLabelTensor(labels: Tensor | ArrayLike<number>): Tensor {
  if (labels instanceof tf.Tensor) return labels.dtype === 'int32' ? labels : tf.tidy(() => labels.toInt());
  return tf.tensor1d(Array.from(labels), 'int32');
}

/** torch `nn.Embedding`: `weight` [num, D]. */
export class Embedding extends Module {
  readonly weight: Variable;
  constructor(readonly num: number, readonly dim: number, opts: { std?: number; rng?: Rng } = {}) {
    super();
    this.weight = this.param('weight', normalInit(defaultRng(opts.rng), [num, dim], opts.std ?? 1));
  }
  /** ids [B] (int) → [B, D], via one-hot [B, num] · weight. */
  forward(ids: Tensor | ArrayLike<number>): Tensor {
    return tf.tidy(() => {
      const idx = toLabelTensor(ids);
      const bad = Array.from(idx.dataSync()).find((v) => v < 0 || v >= this.num);
      if (bad !== undefined) throw new Error(`embedding index ${bad} out of range [0, ${this.num})`);
      return tf.matMul(tf.oneHot(idx, this.num).toFloat(), this.weight);
    });
  }
}

export interface LabelEmbedderOptions {
  /** Add the null class row (index numClasses). Default true. */
  nullClass?: boolean;
  /** Learned tokens (`learnable_tokens` [n, D]) the embedding is added to; 0 → a single vector per sample. */
  numTokens?: number;
  rng?: Rng;
}

/** Keys: `embedding_table.weight` [numClasses (+1), D] and optionally `learnable_tokens`. Table init N(0, 0.02). */
export class LabelEmbedder extends Module {
  readonly embeddingTable: Embedding;
  readonly learnableTokens: Variable | null;
  readonly nullClass: number;

  constructor(readonly numClasses: number, readonly dim: number, opts: LabelEmbedderOptions = {}) {
    super();
    const rng = defaultRng(opts.rng);
    const rows = numClasses + (opts.nullClass === false ? 0 : 1);
    this.nullClass = opts.nullClass === false ? -1 : numClasses;
    this.embeddingTable = this.child('embedding_table', new Embedding(rows, dim, { std: 0.02, rng }));
    const n = opts.numTokens ?? 0;
    this.learnableTokens = n > 0 ? this.param('learnable_tokens', normalInit(rng, [n, dim], 1 / Math.sqrt(dim))) : null;
  }

  /** labels [B] → embedding rows [B, D] (RAE v1 adds them to the time embedding). */
  lookup(labels: Tensor | ArrayLike<number>): Tensor {
    return this.embeddingTable.forward(labels);
  }

  /** labels [B] → [B, n, D] = learned tokens + embedding (needs numTokens > 0). */
  tokens(labels: Tensor | ArrayLike<number>): Tensor {
    const tok = this.learnableTokens;
    if (tok == null) throw new Error('this label embedder has no learnable tokens (numTokens = 0)');
    return tf.tidy(() => tok.expandDims(0).add(this.lookup(labels).expandDims(1)));
  }
}
