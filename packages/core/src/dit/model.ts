/** What every DiT^DH variant offers the transport and samplers. */
import type { Tensor } from '../runtime/tf.js';
import type { Module } from '../nn/module.js';
import type { Condition } from './condition.js';
import type { DiTConfig } from './config.js';

/** Predictions for tokens [B, N, C]: the full (DDT-head) output and, with a base head, the base output. */
export interface DiTOutput {
  full: Tensor;
  base?: Tensor;
  /** REPA projector output [B, N, C_target] when requested and configured. */
  repa?: Tensor;
}

export interface ForwardOptions {
  /** Also return the REPA projection of the body tokens (training). */
  repa?: boolean;
}

export interface DiTModel extends Module {
  readonly config: DiTConfig;
  /** 'x' (RAEv2) or 'velocity' (RAE v1): what `full`/`base` are. */
  readonly prediction: 'x' | 'velocity';
  /** Latent grid [h, w] and channels: inputs and outputs are tokens [B, h·w, C]. */
  readonly grid: [number, number];
  readonly inChannels: number;
  /** The null condition for B rows when the condition kind has one built in (class: the null class); other kinds throw — their provider supplies it. */
  nullCondition(batch: number): Condition;
  /** x_t [B, N, C], t [B] → predictions [B, N, C]. */
  forward(x: Tensor, t: Tensor, cond: Condition, opts?: ForwardOptions): DiTOutput;
}

/** Dispose every tensor of an output. */
export function disposeDiTOutput(o: DiTOutput): void {
  o.full.dispose();
  o.base?.dispose();
  o.repa?.dispose();
}
