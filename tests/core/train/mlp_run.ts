/**
 * Child process of loop.test.ts: a 2-layer MLP regression trained with runTraining (Muon + AdamW,
 * cosine schedule, clipping, EMA, epoch-shuffled batches). Usage: mlp_run.ts <dir> <totalSteps> <checkpointEvery> <delayMs> [stopAt].
 * Prints `ckpt <step>` after each checkpoint and `done <step> <interrupted>` at the end.
 */
import { tf, initRuntime, Ema, EpochSampler, Linear, Module, Rng, clipGradNorm, disposeGrads, muonWithAdamW, parseSchedule, runTraining, valueAndGrads, type Tensor } from '@raev2/core';

class Mlp2 extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(rng: Rng) {
    super();
    this.fc1 = this.child('fc1', new Linear(4, 16, { rng, init: 'torch' }));
    this.fc2 = this.child('fc2', new Linear(16, 1, { rng, init: 'torch' }));
  }
  /** [B, 4] → [B, 1] */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.fc2.forward(tf.relu(this.fc1.forward(x))));
  }
}

const [dir, total, every, delay, stop] = process.argv.slice(2);
const totalSteps = Number(total), delayMs = Number(delay);
await initRuntime({ backend: 'cpu', log: false });

// fixed dataset: y = sin(x·a) + 0.1·x₀²
const N = 64, B = 8;
const dataRng = new Rng(123);
const X = dataRng.normalArray(N * 4);
const Y = Float32Array.from({ length: N }, (_, i) => Math.sin(X[i * 4] - 0.5 * X[i * 4 + 1] + 0.3 * X[i * 4 + 3]) + 0.1 * X[i * 4 + 2] ** 2);

const model = new Mlp2(new Rng(0));
const optimizer = muonWithAdamW(model.namedParameters(), { lr: 0.02, adamw: (n) => n.startsWith('fc2.'), weightDecay: 0.01 });
const ema = new Ema(model);
const sampler = new EpochSampler(N, B);
const config = { task: 'mlp-regression', hidden: 16, batch: B, totalSteps };

const result = await runTraining({
  dir,
  totalSteps,
  checkpointEvery: Number(every),
  stopAt: stop != null ? Number(stop) : undefined,
  logEvery: 5,
  modules: { mlp: model },
  optimizer,
  ema,
  rng: new Rng(42),
  config,
  schedule: parseSchedule({ kind: 'cosine', lr: 0.02, finalLr: 0.002, warmupSteps: 5, totalSteps }),
  step: async ({ rng, state }) => {
    // the epoch permutations come from the checkpointed run Rng, so a resume draws the same batches
    const idx = sampler.next({ rng, state });
    const x = tf.tensor2d(Float32Array.from(idx.flatMap((i) => Array.from(X.subarray(i * 4, i * 4 + 4)))), [B, 4]);
    const y = tf.tensor2d(Float32Array.from(idx.map((i) => Y[i])), [B, 1]);
    const { value, grads } = valueAndGrads(() => tf.losses.meanSquaredError(y, model.forward(x)) as tf.Scalar, model.namedParameters());
    const gradNorm = clipGradNorm(grads, 1.0);
    optimizer.step(grads);
    disposeGrads(grads);
    ema.update(0.9);
    x.dispose();
    y.dispose();
    state.extra.seen = (Number(state.extra.seen ?? 0)) + B;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    return { loss: value, gradNorm };
  },
  onCheckpoint: ({ step }) => {
    process.stdout.write(`ckpt ${step}\n`);
  },
});
process.stdout.write(`done ${result.step} ${result.interrupted}\n`);
process.exit(result.interrupted ? 130 : 0);
