/**
 * Gaussian-Fourier time embedding (RAE / RAEv2 `GaussianFourierEmbedding`): fixed W ~ N(0, s²)^E,
 * [sin 2πtW, cos 2πtW] → Linear(2E → D) → SiLU → Linear(D → D). t is used as is (not ×1000).
 * Optional learned tokens (RAEv2 in-context time tokens) are added to the embedding.
 */
import { tf, type Tensor, type Variable } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import { Module } from './module.js';
import { Linear } from './linear.js';
import { defaultRng, normalInit } from './init.js';
import { silu } from './activations.js';

/** Two linears under the keys `0` and `2` (torch `nn.Sequential(Linear, SiLU, Linear)`). */
class TimeMlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(inDim: number, dim: number, rng: Rng) {
    super();
    this.fc1 = this.child('0', new Linear(inDim, dim, { rng }));
    this.fc2 = this.child('2', new Linear(dim, dim, { rng }));
    // docs/method.md §2.1: time MLP weights ~ N(0, 0.02), biases 0
    for (const l of [this.fc1, this.fc2]) {
      const w = normalInit(rng, l.weight.shape, 0.02);
      l.weight.assign(w);
      w.dispose();
    }
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.fc2.forward(silu(this.fc1.forward(x))));
  }
}

export interface TimeEmbeddingOptions {
  /** Learned tokens added to the embedding (`learnable_tokens` [n, D]); 0 for none (RAE v1). */
  numTokens?: number;
  /** Number of Fourier frequencies E (default 256). */
  embeddingSize?: number;
  /** Std of W (default 1). */
  scale?: number;
  rng?: Rng;
}

export class GaussianFourierEmbedding extends Module {
  readonly mlp: TimeMlp;
  readonly learnableTokens: Variable | null;
  readonly numTokens: number;

  constructor(readonly dim: number, opts: TimeEmbeddingOptions = {}) {
    super();
    const rng = defaultRng(opts.rng);
    const e = opts.embeddingSize ?? 256;
    this.numTokens = opts.numTokens ?? 0;
    // W is frozen upstream (requires_grad=False) but saved in the state dict: a buffer here.
    this.buffer('W', normalInit(rng, [e], opts.scale ?? 1));
    this.mlp = this.child('mlp', new TimeMlp(2 * e, dim, rng));
    this.learnableTokens = this.numTokens > 0 ? this.param('learnable_tokens', normalInit(rng, [this.numTokens, dim], 1 / Math.sqrt(dim))) : null;
  }

  /** [sin 2πtW, cos 2πtW]: t [B] → [B, 2E]. */
  fourierFeatures(t: Tensor): Tensor {
    return tf.tidy(() => {
      const a = t.reshape([-1, 1]).mul(this.getBuffer('W').reshape([1, -1])).mul(2).mul(Math.PI);
      return tf.concat([tf.sin(a), tf.cos(a)], -1);
    });
  }

  /** t [B] → [B, D] (no learned tokens). */
  embed(t: Tensor): Tensor {
    return tf.tidy(() => this.mlp.forward(this.fourierFeatures(t)));
  }

  /** t [B] → [B, n_t, D] = learned tokens + embedding. */
  tokens(t: Tensor): Tensor {
    return tf.tidy(() => this.tokensFrom(this.embed(t)));
  }

  /** learned tokens [n_t, D] + an embedding [B, D] → [B, n_t, D]. */
  tokensFrom(emb: Tensor): Tensor {
    if (this.learnableTokens == null) throw new Error('this time embedding has no learnable tokens (numTokens = 0)');
    const tok = this.learnableTokens;
    return tf.tidy(() => tok.expandDims(0).add(emb.expandDims(1)));
  }
}
