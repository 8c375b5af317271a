/**
 * A linear probe: softmax regression on standardised feature vectors, trained with AdamW on real
 * samples, then used to classify generated ones ("class accuracy of generated samples").
 * Cross-entropy is written as logits − logsumexp(logits) with one-hot targets (wasm has no
 * LogSoftmax kernel).
 */
import { tf, type Tensor, type Variable } from '../runtime/tf.js';
import { AdamW } from '../train/optim/adamw.js';

export interface ProbeOptions {
  /** Full-batch AdamW steps (default 300). */
  steps?: number;
  /** AdamW lr (default 3e-2), decoupled weight decay (default 1e-2). */
  lr?: number;
  weightDecay?: number;
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
   * Fit on features [M, d] with integer labels in [0, numClasses): full-batch AdamW on the exact
   * gradient of the mean cross-entropy, ∂W = xᵀ(p − y)/M, ∂b = mean(p − y), with xᵀ formed once
   * (wasm transposes are slow, and autodiff would transpose x at every step). Deterministic.
   * Returns the probe, its final training accuracy and loss.
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
    const xt = tf.tidy(() => x.transpose());
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from(labels), 'int32'), numClasses).toFloat());
    const opt = new AdamW([['weight', probe.weight], ['bias', probe.bias]], { lr: opts.lr ?? 3e-2, betas: [0.9, 0.999], weightDecay: opts.weightDecay ?? 1e-2 });
    let loss = NaN;
    try {
      for (let step = 0, n = opts.steps ?? 300; step < n; step++) {
        const { weight, bias } = tf.tidy(() => {
          const logits = probe.logitsOf(x);
          const g = tf.softmax(logits).sub(y).div(m); // ∂L/∂logits of the mean cross-entropy
          if (step === n - 1) loss = crossEntropy(logits, y).dataSync()[0];
          return { weight: tf.matMul(xt, g), bias: g.sum(0) };
        });
        opt.step(new Map([['weight', weight], ['bias', bias]]));
        tf.dispose([weight, bias]);
      }
      const pred = probe.predictStandardized(x);
      let hit = 0;
      for (let i = 0; i < m; i++) if (pred[i] === labels[i]) hit++;
      return { probe, trainAccuracy: hit / m, loss };
    } finally {
      opt.dispose();
      tf.dispose([x, xt, y]);
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
