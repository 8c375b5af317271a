/**
 * ODE samplers over a denoiser, from t = grid[0] (noise, 1) down to grid[last] (data, ≈ 0):
 * Euler x ← x + (t_{i+1} − t_i)·v̂(x, t_i), and Heun (trapezoid, 2 evaluations per step except a
 * final step to t = 0, which is Euler as in k-diffusion). v̂ is the velocity of the full prediction,
 * converted from an x-prediction with the t-clamp when needed.
 */
import { tf, type Tensor } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import type { Condition } from '../dit/condition.js';
import { progress } from '../util/progress.js';
import { T_EPS, toVelocity } from '../transport/path.js';
import { type Denoiser, disposeDenoiserOutput } from './denoiser.js';

export interface StepInfo {
  /** 0-based step index and the number of steps. */
  step: number;
  steps: number;
  /** Times of this step. */
  t: number;
  tNext: number;
  /** State after the step (owned by the sampler: clone it to keep it). */
  x: Tensor;
}

export interface SamplerOptions {
  /** Times from noise to data (e.g. flowGrid(50, shift)). */
  grid: ArrayLike<number>;
  cond: Condition;
  /** Parameterisation of the denoiser's output. */
  prediction: 'x' | 'velocity';
  /** t clamp for x → velocity (default 0.05). */
  tEps?: number;
  /** Called after each step. */
  onStep?: (info: StepInfo) => void;
}

/** Velocity of the denoiser's full output at (x, t) for a batch of B: [B, …]. */
function velocity(d: Denoiser, x: Tensor, t: number, o: SamplerOptions): Tensor {
  return tf.tidy(() => {
    const tb = tf.fill([x.shape[0] as number], t);
    const out = d(x, tb, o.cond);
    const v = toVelocity(out.full, x, tb, o.prediction, o.tEps ?? T_EPS);
    disposeDenoiserOutput(out);
    return v;
  });
}

function run(d: Denoiser, x0: Tensor, o: SamplerOptions, heun: boolean): Tensor {
  const grid = Array.from(o.grid);
  if (grid.length < 2) throw new Error('a sampling grid needs at least 2 times');
  let x = x0.clone();
  const steps = grid.length - 1;
  for (let i = 0; i < steps; i++) {
    const t = grid[i], tNext = grid[i + 1];
    const dt = Math.fround(tNext - t);
    const next = tf.tidy(() => {
      const v = velocity(d, x, t, o);
      const xe = x.add(v.mul(dt));
      if (!heun || tNext === 0) return xe;
      const v2 = velocity(d, xe, tNext, o);
      return x.add(v.add(v2).mul(0.5).mul(dt));
    });
    x.dispose();
    x = next;
    o.onStep?.({ step: i, steps, t, tNext, x });
  }
  return x;
}

/** Euler ODE sampling from x_init (at grid[0]) → x at grid[last]. NFE = steps. */
export function sampleEuler(d: Denoiser, xInit: Tensor, o: SamplerOptions): Tensor {
  return run(d, xInit, o, false);
}

/** Heun ODE sampling. NFE = 2·steps − (1 if the grid ends at 0). */
export function sampleHeun(d: Denoiser, xInit: Tensor, o: SamplerOptions): Tensor {
  return run(d, xInit, o, true);
}

export type SamplerName = 'euler' | 'heun';

/**
 * Sample from seeded noise: ε ~ N(0, I) of `shape` from `rng`, integrated with `method`. With
 * `sharedNoise` one draw of shape [1, …] is repeated over the batch (common random numbers: rows then
 * differ only by their condition, so their outputs can be compared without sampling noise).
 */
export function sample(d: Denoiser, shape: number[], rng: Rng, o: SamplerOptions & { method?: SamplerName; sharedNoise?: boolean }): Tensor {
  const method = o.method ?? 'euler';
  if (method !== 'euler' && method !== 'heun') throw new Error(`unknown sampler "${method}" (known: euler, heun)`);
  const noise = o.sharedNoise ? tf.tidy(() => tf.tile(rng.randn([1, ...shape.slice(1)]), [shape[0], ...shape.slice(1).map(() => 1)])) : rng.randn(shape);
  try {
    return method === 'euler' ? sampleEuler(d, noise, o) : sampleHeun(d, noise, o);
  } finally {
    noise.dispose();
  }
}

/** An `onStep` that shows steps/s and ETA through the project's progress display. */
export function progressOnStep(label = 'sample'): (info: StepInfo) => void {
  let bar: ReturnType<typeof progress> | null = null;
  return ({ step, steps, t }) => {
    bar ??= progress({ label, total: steps, unit: 'step' });
    bar.update(step + 1, { t });
    if (step + 1 === steps) bar.finish();
  };
}
