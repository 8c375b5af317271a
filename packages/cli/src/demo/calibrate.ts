/**
 * Measure the per-step costs the budget plan needs, on this machine, with throw-away copies of the
 * real networks: a few encoder, decoder, feature-network and DiT passes at the run's batch sizes
 * (after one warm-up pass each, which also compiles the kernels). Nothing here touches the
 * training runs' weights or random streams.
 */
import {
  tf,
  Rng,
  Discriminator,
  createDiT,
  decoderGrads,
  discriminatorGrads,
  disposeGrads,
  drawTraining,
  flowMatchingLoss,
  lossForGrads,
  pooledFeatures,
  raev2Transport,
  stage1RAE,
  valueAndGrads,
  type DecoderLossTerms,
  type DiTConfig,
  type Encoder,
  type Stage1Config,
  type Stage1Parts,
  type Tensor,
} from '@raev2/core';
import type { StepCosts } from './plan.js';

/** Seconds of the fastest of `reps` timed calls after one warm-up call. */
function timeIt(fn: () => void, reps = 2): number {
  fn();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

export interface CalibrationInput {
  stage1: Stage1Config;
  parts: Stage1Parts;
  dit: DiTConfig;
  ditBatch: number;
  /** Feature network of the metrics. */
  features: Encoder;
  gan: boolean;
}

/** Per-step costs (seconds) of the run's networks on this machine. */
export function calibrate(o: CalibrationInput): StepCosts {
  const { parts, stage1: cfg } = o;
  const b = Math.min(cfg.batchSize, parts.images.count);
  const idx = Array.from({ length: b }, (_, i) => i);
  const rae = stage1RAE(cfg, parts.encoder, parts.selection);
  const x = parts.images.batch(idx);
  const rng = new Rng(12345);
  const owned: { dispose(): void }[] = [rae, x];
  try {
    const encodePerImage = timeIt(() => tf.dispose(rae.encodeRaw(x))) / b;
    const z = rae.encodeRaw(x);
    owned.push(z);
    const decode = (zz: Tensor) => tf.tidy(() => rae.denormalize(rae.decoder.decode(zz, { latentGrid: rae.grid })));
    const decodePerImage = timeIt(() => tf.dispose(decode(z))) / b;
    const terms: DecoderLossTerms = {
      l1: cfg.l1,
      perceptualWeight: cfg.perceptual.weight,
      perceptual: parts.perceptual,
      ganWeight: cfg.gan.weight,
      disc: null,
      gLoss: cfg.gan.gLoss,
      dLoss: cfg.gan.dLoss,
      quantize: cfg.gan.quantize,
      diffaug: cfg.gan.diffaug,
    };
    const params = rae.decoder.namedParameters();
    const decoderStep = timeIt(() => {
      const g = decoderGrads(decode, params, z, x, terms, false, rng);
      disposeGrads(g.grads);
    });
    let decoderGanStep: number | undefined;
    if (o.gan && parts.discBackbone) {
      const disc = new Discriminator(parts.discBackbone.extract, { channels: parts.discBackbone.channels, kernel: cfg.gan.kernel, rng: new Rng(1) });
      owned.push(disc);
      const withGan = { ...terms, disc: (im: Tensor) => disc.forward(im) };
      decoderGanStep = timeIt(() => {
        const g = decoderGrads(decode, params, z, x, withGan, true, rng);
        const fakes = decode(z); // D trains on fakes re-decoded after the decoder's step
        const d = discriminatorGrads(withGan.disc, disc.namedParameters(), x, fakes, withGan, rng);
        disposeGrads(g.grads);
        disposeGrads(d.grads);
        fakes.dispose();
      }, 1);
    }
    const featuresPerImage = timeIt(() => tf.dispose(pooledFeatures(o.features, x))) / b;
    const { ditStep, ditForwardPerSample } = ditCosts(o.dit, o.ditBatch, rae.numTokens, rae.channels);
    return { encodePerImage, featuresPerImage, decoderStep, decoderGanStep, decodePerImage, ditStep, ditForwardPerSample };
  } finally {
    for (const d of owned.reverse()) d.dispose();
  }
}

/** One DiT training step at `batch` and one forward pass per sample (at 64 samples), on random latents. */
function ditCosts(config: DiTConfig, batch: number, tokens: number, channels: number): { ditStep: number; ditForwardPerSample: number } {
  const model = createDiT(config, 777);
  const rng = new Rng(777);
  const transport = raev2Transport(1);
  const params = model.namedParameters().filter(([, v]) => v.trainable);
  const numClasses = config.numClasses;
  const x = rng.randn([batch, tokens, channels]);
  const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % numClasses), 'int32');
  const fb = 64;
  const xf = rng.randn([fb, tokens, channels]);
  const tf64 = tf.fill([fb], 0.5);
  const lf = tf.tensor1d(Array.from({ length: fb }, (_, i) => i % numClasses), 'int32');
  try {
    const ditStep = timeIt(() => {
      const draw = drawTraining(rng, x.shape, transport);
      const g = valueAndGrads(() => lossForGrads(flowMatchingLoss(model, x, { labels }, draw, transport)), params);
      tf.dispose([draw.t, draw.noise]);
      disposeGrads(g.grads);
    });
    const ditForwardPerSample = timeIt(() => {
      const out = model.forward(xf, tf64, { labels: lf });
      tf.dispose([out.full, out.base, out.repa].filter((t): t is Tensor => t != null));
    }) / fb;
    return { ditStep, ditForwardPerSample };
  } finally {
    tf.dispose([x, labels, xf, tf64, lf]);
    model.dispose();
  }
}
