/** Latent-token patch embedding (`<name>.proj` conv weights [D, C, p, p]) and the inverse unpatchify, on token tensors [B, h·w, C]. */
import { tf, type Tensor } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import { Module } from '../nn/module.js';
import { PatchEmbed, unpatchify } from '../nn/patch.js';

/** timm `PatchEmbed` applied to a latent token grid; key `proj.weight` [D, C, p, p], `proj.bias`. */
export class LatentPatchEmbed extends Module {
  readonly proj: PatchEmbed;
  constructor(readonly inChannels: number, readonly dim: number, readonly patch: number, readonly gridH: number, readonly gridW: number, rng?: Rng) {
    super();
    this.proj = this.child('proj', new PatchEmbed(inChannels, dim, patch, { rng }));
  }
  get numPatches(): number {
    return (this.gridH / this.patch) * (this.gridW / this.patch);
  }
  /** [B, h·w, C] → [B, (h/p)·(w/p), D] */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      if (this.patch === 1) return this.proj.forward(x.reshape([x.shape[0], 1, -1, this.inChannels]));
      return this.proj.forward(x.reshape([x.shape[0], this.gridH, this.gridW, this.inChannels]));
    });
  }
}

/** [B, (h/p)·(w/p), p·p·C] with rows ordered (p_row, p_col, C) → tokens [B, h·w, C]. */
export function unpatchifyTokens(x: Tensor, gridH: number, gridW: number, p: number, channels: number): Tensor {
  return tf.tidy(() => {
    if (p === 1) return x;
    return unpatchify(x, gridH / p, gridW / p, p, channels).reshape([x.shape[0], gridH * gridW, channels]);
  });
}

/** NCHW latents [B, C, h, w] (upstream layout) → tokens [B, h·w, C]. */
export function tokensFromNCHW(x: Tensor): Tensor {
  return tf.tidy(() => {
    const [b, c, h, w] = x.shape;
    return x.transpose([0, 2, 3, 1]).reshape([b, h * w, c]);
  });
}

/** tokens [B, h·w, C] → NCHW [B, C, h, w]. */
export function tokensToNCHW(x: Tensor, h: number, w: number): Tensor {
  return tf.tidy(() => {
    const [b, , c] = x.shape;
    return x.reshape([b, h, w, c]).transpose([0, 3, 1, 2]);
  });
}
