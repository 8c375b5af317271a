/**
 * The RAEv2 navigation condition (docs/method.md, navigation world model), in context:
 *   frames [B, n·N, C] (standardised latents of the n context frames) → Linear(C → D) per token
 *     (the 1×1 patch embedding), with no position or frame embedding by default (RAEv2); options:
 *     learned frame embeddings [n, D] (one per context slot) and `contextRope`, which gives each
 *     context token the 2-D RoPE angles of its grid cell (RAEv2 rotates no condition token);
 *   action [B, 3] → learned tokens [n_a, D] + Linear(3 → D)(action);
 *   offset [B] (k/128) → one Gaussian-Fourier token (learned token + MLP(Fourier(offset))).
 * Tokens [B, n·N + n_a + 1, D]. The null condition is all zeros (CFG dropout zeroes every part).
 */
import { z } from 'zod';
import { tf, Module, Linear, GaussianFourierEmbedding, Rng, normalInit, type Tensor, type Variable } from '@raev2/core';

export const NavigationConditionSchema = z.object({
  kind: z.literal('navigation'),
  /** Context frames n. */
  contextFrames: z.number().int().positive().default(4),
  /** Latent tokens per frame N (h·w). */
  tokensPerFrame: z.number().int().positive(),
  /** Latent channels C. */
  channels: z.number().int().positive(),
  /** Learned action tokens n_a. */
  actionTokens: z.number().int().positive().default(2),
  /** Add a learned embedding per context slot (RAEv2 uses none). */
  frameEmbedding: z.boolean().default(false),
  /**
   * Rotate each context token by the 2-D RoPE angles of its grid cell, as if it were an image token
   * (RAEv2: angle 0 for every condition token). Attention then sees where in the frame a context
   * token lies relative to the predicted one: docs/navworld.md measures both.
   */
  contextRope: z.boolean().default(false),
}).strict();
export type NavigationConditionConfig = z.output<typeof NavigationConditionSchema>;

/** The navigation condition fields (batch-first). */
export interface NavigationCondition {
  /** Context latents [B, n·N, C], oldest frame first. */
  frames: Tensor;
  /** Normalised action [B, 3] (dx, dy, dyaw) relative to the last context frame. */
  action: Tensor;
  /** Time offset k/128 [B]. */
  offset: Tensor;
  [field: string]: Tensor | undefined;
}

export class NavigationConditionEmbedder extends Module {
  readonly frameProj: Linear;
  readonly frameEmbed: Variable | null;
  readonly actionProj: Linear;
  readonly actionTokens: Variable;
  readonly offsetEmbedder: GaussianFourierEmbedding;

  constructor(readonly config: NavigationConditionConfig, readonly dim: number, rng: Rng = new Rng(0)) {
    super();
    const c = config;
    this.frameProj = this.child('frame_proj', new Linear(c.channels, dim, { rng }));
    this.frameEmbed = c.frameEmbedding ? this.param('frame_embed', normalInit(rng, [c.contextFrames, dim], 0.02)) : null;
    this.actionProj = this.child('action_proj', new Linear(3, dim, { rng }));
    this.actionTokens = this.param('action_tokens', normalInit(rng, [c.actionTokens, dim], 1 / Math.sqrt(dim)));
    this.offsetEmbedder = this.child('offset_embedder', new GaussianFourierEmbedding(dim, { numTokens: 1, rng }));
  }

  /** Grid cell of each context token when `contextRope` is on (−1: action and offset tokens, angle 0). */
  get ropePositions(): number[] | undefined {
    const c = this.config;
    if (!c.contextRope) return undefined;
    const frames = Array.from({ length: c.contextFrames * c.tokensPerFrame }, (_, i) => i % c.tokensPerFrame);
    return [...frames, ...new Array<number>(c.actionTokens + 1).fill(-1)];
  }

  /** Condition tokens per sample: n·N + n_a + 1. */
  get numTokens(): number {
    const c = this.config;
    return c.contextFrames * c.tokensPerFrame + c.actionTokens + 1;
  }

  /** cond {frames [B, n·N, C], action [B, 3], offset [B]} → {tokens [B, n·N + n_a + 1, D]}. */
  embed(cond: { [field: string]: Tensor | undefined }): { tokens: Tensor } {
    const { frames, action, offset } = cond;
    const c = this.config;
    if (frames == null || action == null || offset == null) throw new Error('navigation condition needs frames [B, n·N, C], action [B, 3] and offset [B]');
    const nN = c.contextFrames * c.tokensPerFrame;
    if (frames.rank !== 3 || frames.shape[1] !== nN || frames.shape[2] !== c.channels) throw new Error(`navigation condition: frames must be [B, ${nN}, ${c.channels}] (${c.contextFrames} frames × ${c.tokensPerFrame} tokens), got [${frames.shape}]`);
    if (action.rank !== 2 || action.shape[1] !== 3) throw new Error(`navigation condition: action must be [B, 3], got [${action.shape}]`);
    const b = frames.shape[0];
    if (action.shape[0] !== b || offset.size !== b) throw new Error(`navigation condition: batch sizes differ (frames ${b}, action ${action.shape[0]}, offset ${offset.size})`);
    return tf.tidy(() => {
      let f = this.frameProj.forward(frames); // [B, n·N, D]
      if (this.frameEmbed) {
        const slots = this.frameEmbed.expandDims(1).tile([1, c.tokensPerFrame, 1]).reshape([1, nN, this.dim]);
        f = f.add(slots);
      }
      const a = this.actionTokens.expandDims(0).add(this.actionProj.forward(action).expandDims(1)); // [B, n_a, D]
      const o = this.offsetEmbedder.tokens(offset.reshape([-1])); // [B, 1, D]
      return { tokens: tf.concat([f, a, o], 1) };
    }) as { tokens: Tensor };
  }
}

/** The null condition: zeros in every field (frames [B, n·N, C], action [B, 3], offset [B]). */
export function nullNavigationCondition(c: NavigationConditionConfig, batch: number): NavigationCondition {
  return { frames: tf.zeros([batch, c.contextFrames * c.tokensPerFrame, c.channels]), action: tf.zeros([batch, 3]), offset: tf.zeros([batch]) };
}
