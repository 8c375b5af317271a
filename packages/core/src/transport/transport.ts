/**
 * The training objective as one configurable object (zod schema + presets) and the loss of a
 * DiT on a batch: draw t and ε (seeded), form x_t, run the model, sum the configured terms.
 */
import { z } from 'zod';
import { tf, type Tensor } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import { parseWith } from '../util/config.js';
import type { Condition } from '../dit/condition.js';
import type { DiTModel } from '../dit/model.js';
import { repaLoss } from '../dit/repa.js';
import { interpolate } from './path.js';
import { velocityLoss, xPredictionLoss } from './loss.js';
import { sampleTimes, type TimeDistribution } from './time.js';

export const TransportConfigSchema = z.object({
  /** What the model predicts (must match the model). */
  prediction: z.enum(['x', 'velocity']),
  /** Time distribution before the shift. */
  timeDist: z.enum(['uniform', 'logit-normal']),
  mu: z.number().default(0),
  sigma: z.number().positive().default(1),
  /** Upper end of uniform draws (RAE v1: 1 − 1/1000). */
  tMax: z.number().gt(0).max(1).default(1),
  /** Dimension-dependent shift s (use dimensionShift(N, C)). */
  shift: z.number().positive(),
  /** t clamp for x-prediction → velocity. */
  tEps: z.number().positive().default(0.05),
  /** Weight of the base-head term. */
  baseWeight: z.number().nonnegative().default(1),
  /** Weight of the REPA term (when a target is given). */
  repaWeight: z.number().nonnegative().default(0.5),
});
export type TransportConfig = z.infer<typeof TransportConfigSchema>;
export type TransportConfigInput = z.input<typeof TransportConfigSchema>;

export function parseTransportConfig(value: unknown, source = 'transport config'): TransportConfig {
  return parseWith(TransportConfigSchema, value, source);
}

/** RAEv2: x-prediction, logit-normal(0, 1), t-clamp 0.05, base head weight 1. */
export function raev2Transport(shift: number, overrides: Partial<TransportConfigInput> = {}): TransportConfig {
  return parseTransportConfig({ prediction: 'x', timeDist: 'logit-normal', shift, ...overrides }, 'RAEv2 transport');
}

/** RAE v1: velocity prediction, uniform t on [0, 1 − 1/1000]. */
export function raeTransport(shift: number, overrides: Partial<TransportConfigInput> = {}): TransportConfig {
  return parseTransportConfig({ prediction: 'velocity', timeDist: 'uniform', tMax: 1 - 1 / 1000, shift, ...overrides }, 'RAE transport');
}

/** The time distribution of a transport config. */
export function timeDistribution(c: TransportConfig): TimeDistribution {
  return { type: c.timeDist, mu: c.mu, sigma: c.sigma, tMax: c.tMax, shift: c.shift };
}

/** One training draw: t [B] and ε shaped like the batch. */
export interface TrainingDraw {
  t: Tensor;
  noise: Tensor;
}

/** Draw t and ε for a batch of shape `shape` ([B, N, C]) from `rng`. */
export function drawTraining(rng: Rng, shape: number[], c: TransportConfig): TrainingDraw {
  return { t: sampleTimes(rng, shape[0], timeDistribution(c)), noise: rng.randn(shape) };
}

/** Scalar loss and its parts (each a scalar). */
export interface LossTerms {
  loss: tf.Scalar;
  parts: Record<string, tf.Scalar>;
}

export interface LossOptions {
  /** Clean target features [B, N, C_target] for the REPA term (model needs a REPA projector). */
  repaTarget?: Tensor;
}

/**
 * Loss of `model` on clean latents x [B, N, C] with a fixed draw (t, ε):
 * x-prediction → mean v-space loss of full (+ baseWeight·base); velocity → mean (v̂ − (ε − x))²;
 * + repaWeight·REPA when a target is given.
 */
export function flowMatchingLoss(model: DiTModel, x: Tensor, cond: Condition, draw: TrainingDraw, c: TransportConfig, opts: LossOptions = {}): LossTerms {
  if (model.prediction !== c.prediction) throw new Error(`transport expects ${c.prediction}-prediction but the model predicts ${model.prediction}`);
  return tf.tidy(() => {
    const xt = interpolate(x, draw.noise, draw.t);
    const out = model.forward(xt, draw.t, cond, { repa: opts.repaTarget != null });
    const term = (pred: Tensor) => (c.prediction === 'x' ? xPredictionLoss(pred, x, xt, draw.t, c.tEps) : velocityLoss(pred, x, draw.noise)).mean() as tf.Scalar;
    const parts: Record<string, tf.Scalar> = { full: term(out.full) };
    let loss = parts.full;
    if (out.base && c.baseWeight > 0) {
      parts.base = term(out.base);
      loss = loss.add(parts.base.mul(c.baseWeight));
    }
    if (opts.repaTarget) {
      if (!out.repa) throw new Error('a REPA target was given but the model has no REPA projector (config.repa)');
      parts.repa = repaLoss(out.repa, opts.repaTarget) as tf.Scalar;
      loss = loss.add(parts.repa.mul(c.repaWeight));
    }
    return { loss, parts } as unknown as Record<string, Tensor>;
  }) as unknown as LossTerms;
}

/**
 * For the closure given to `valueAndGrads`: writes each part's value into `log` and returns the
 * scalar loss. The parts are freed with the gradient scope (tfjs disposes every tensor a
 * `variableGrads` closure creates except its result), so nothing leaks.
 */
export function lossForGrads(terms: LossTerms, log?: Record<string, number>): tf.Scalar {
  if (log) for (const [k, v] of Object.entries(terms.parts)) log[k] = v.dataSync()[0];
  return terms.loss;
}
