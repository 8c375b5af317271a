/**
 * The denoiser contract samplers and guidance work with (k-diffusion style): a function of
 * (x_t [B, N, C], t [B], cond) returning the full prediction and, for RAEv2 models, the base-head
 * prediction, all in the model's parameterisation (x or velocity).
 */
import type { Tensor } from '../runtime/tf.js';
import type { Condition } from '../dit/condition.js';
import type { DiTModel } from '../dit/model.js';

export interface DenoiserOutput {
  full: Tensor;
  base?: Tensor;
}

/** (x_t, t, cond) → predictions. The caller owns (disposes) the returned tensors. */
export type Denoiser = (x: Tensor, t: Tensor, cond: Condition) => DenoiserOutput;

/** A DiT as a denoiser (REPA outputs are not requested). */
export function modelDenoiser(model: DiTModel): Denoiser {
  return (x, t, cond) => {
    const o = model.forward(x, t, cond);
    return o.base ? { full: o.full, base: o.base } : { full: o.full };
  };
}

/** Number of model forwards and of batch rows evaluated through a counted denoiser. */
export interface NfeCounter {
  /** Forward calls (one CFG call on a doubled batch counts once). */
  calls: number;
  /** Rows evaluated (a doubled CFG batch counts 2·B). */
  rows: number;
  reset(): void;
}

/** Wrap a denoiser so every call is counted. */
export function countNfe(d: Denoiser): { denoiser: Denoiser; nfe: NfeCounter } {
  const nfe: NfeCounter = {
    calls: 0,
    rows: 0,
    reset() {
      this.calls = 0;
      this.rows = 0;
    },
  };
  const denoiser: Denoiser = (x, t, cond) => {
    nfe.calls += 1;
    nfe.rows += x.shape[0] as number;
    return d(x, t, cond);
  };
  return { denoiser, nfe };
}

/** Dispose both outputs. */
export function disposeDenoiserOutput(o: DenoiserOutput): void {
  o.full.dispose();
  o.base?.dispose();
}
