/**
 * A linear probe: softmax regression on standardised feature vectors, trained with AdamW on real
 * samples, then used to classify generated ones ("class accuracy of generated samples").
 * Cross-entropy is written as logits − logsumexp(logits) with one-hot targets (wasm has no
 * LogSoftmax kernel and gather has no gradient there).
 */
import { tf, type Tensor, type Variable } from '../runtime/tf.js';
import { Rng } from '../runtime/rng.js';
import { AdamW } from '../train/optim/adamw.js';
import { valueAndGrads, disposeGrads } from '../train/grads.js';

export interface ProbeOptions {
  /** Passes over the training features (default 60). */
  epochs?: number;
  /** Mini-batch size (default 256). */
  batchSize?: number;
  /** AdamW lr (default 3e-3), decoupled weight decay (default 1e-2). */
  lr?: number;
  weightDecay?: number;
  seed?: number;
}

export class LinearProbe {
  private constructor(
    readonly numClasses: number,
    readonly dim: number,
    private readonly mean: Tensor,
    private readonly invStd: Tensor,
    private readonly weight: Variable,
    private readonly bias: Variable,
  ) {}

  /**
   * Fit on features [M, d] with integer labels in [0, numClasses). Returns the probe and its final
   * training accuracy. Deterministic for a seed.
   */
  static train(features: Tensor, labels: ArrayLike<number>, numClasses: number, opts: ProbeOptions = {}): { probe: LinearProbe; trainAccuracy: number; loss: number } {
    const [m, d] = features.shape;
    if (features.rank !== 2) throw new Error(`LinearProbe: features must be [M, d], got [${features.shape}]`);
    if (labels.length !== m) throw new Error(`LinearProbe: ${labels.length} labels for ${m} feature rows`);
    if (!(numClasses >= 2)) throw new Error(`LinearProbe: need at least 2 classes, got ${numClasses}`);
    for (let i = 0; i < m; i++) if (!(Number.isInteger(labels[i]) && labels[i] >= 0 && labels[i] < numClasses)) throw new Error(`LinearProbe: label ${labels[i]} (row ${i}) is not in [0, ${numClasses})`);
    const { mean, invStd } = tf.tidy(() => {
      const mu = features.mean(0);
      const sd = features.sub(mu).square().mean(0).sqrt();
      return { mean: tf.keep(mu), invStd: tf.keep(tf.scalar(1).div(sd.add(1e-6))) };
    });
    const probe = new LinearProbe(numClasses, d, mean, invStd, zerosVariable([d, numClasses]), zerosVariable([numClasses]));
    const x = probe.standardize(features);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from(labels), 'int32'), numClasses).toFloat());
    const epochs = opts.epochs ?? 60, bs = Math.min(opts.batchSize ?? 256, m);
    const opt = new AdamW([['weight', probe.weight], ['bias', probe.bias]], { lr: opts.lr ?? 3e-3, betas: [0.9, 0.999], weightDecay: opts.weightDecay ?? 1e-2 });
    const rng = new Rng(opts.seed ?? 0);
    let loss = NaN;
    try {
      for (let e = 0; e < epochs; e++) {
        const perm = rng.permutation(m);
        for (let i = 0; i + bs <= m; i += bs) {
          const idx = tf.tensor1d(perm.slice(i, i + bs), 'int32');
          const xb = tf.gather(x, idx), yb = tf.gather(y, idx); // constants: no gradient needed through gather
          const { value, grads } = valueAndGrads(() => crossEntropy(probe.logitsOf(xb), yb), [['weight', probe.weight], ['bias', probe.bias]]);
          opt.step(grads);
          disposeGrads(grads);
          tf.dispose([idx, xb, yb]);
          loss = value;
        }
      }
      const pred = probe.predictStandardized(x);
      let hit = 0;
      for (let i = 0; i < m; i++) if (pred[i] === labels[i]) hit++;
      return { probe, trainAccuracy: hit / m, loss };
    } finally {
      opt.dispose();
      tf.dispose([x, y]);
    }
  }

  /** Predicted class per row of features [B, d]. */
  predict(features: Tensor): Int32Array {
    if (features.rank !== 2 || features.shape[1] !== this.dim) throw new Error(`LinearProbe: features must be [B, ${this.dim}], got [${features.shape}]`);
    const x = this.standardize(features);
    try {
      return this.predictStandardized(x);
    } finally {
      x.dispose();
    }
  }

  /** Fraction of rows whose predicted class equals `labels`. */
  accuracy(features: Tensor, labels: ArrayLike<number>): number {
    const p = this.predict(features);
    if (p.length !== labels.length) throw new Error(`LinearProbe: ${labels.length} labels for ${p.length} rows`);
    let hit = 0;
    for (let i = 0; i < p.length; i++) if (p[i] === labels[i]) hit++;
    return p.length ? hit / p.length : NaN;
  }

  dispose(): void {
    tf.dispose([this.mean, this.invStd, this.weight, this.bias]);
  }

  private standardize(f: Tensor): Tensor {
    return tf.tidy(() => f.sub(this.mean).mul(this.invStd));
  }

  private logitsOf(x: Tensor): Tensor {
    return tf.tidy(() => tf.matMul(x, this.weight).add(this.bias));
  }

  private predictStandardized(x: Tensor): Int32Array {
    const p = tf.tidy(() => this.logitsOf(x).argMax(-1));
    const out = Int32Array.from(p.dataSync());
    p.dispose();
    return out;
  }
}

/** A trainable variable of zeros (the initial tensor is released). */
function zerosVariable(shape: number[]): Variable {
  const z = tf.zeros(shape);
  const v = tf.variable(z);
  z.dispose();
  return v;
}

/** Mean softmax cross-entropy of logits [B, K] against one-hot targets [B, K]. */
export function crossEntropy(logits: Tensor, oneHot: Tensor): tf.Scalar {
  return tf.tidy(() => {
    const logp = logits.sub(tf.logSumExp(logits, -1, true));
    return logp.mul(oneHot).sum(-1).mean().neg() as tf.Scalar;
  });
}
