/** Patch embedding (a stride-p conv written as reshape + matmul, so it has gradients on wasm) and unpatchify. */
import { tf, type Tensor, type Variable } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import { Module } from './module.js';
import { defaultRng, xavierUniform, zerosInit } from './init.js';

/** [B, H, W, C] (NHWC) or [B, C, H, W] (NCHW) → [B, h·w, C·p·p] with each row ordered (C, p, p) like a conv weight. */
export function patchify(x: Tensor, p: number, layout: 'NHWC' | 'NCHW' = 'NHWC'): Tensor {
  return tf.tidy(() => {
    if (layout === 'NHWC') {
      const [b, hh, ww, c] = x.shape;
      const h = hh / p, w = ww / p;
      if (!Number.isInteger(h) || !Number.isInteger(w)) throw new Error(`image ${hh}×${ww} is not divisible by patch size ${p}`);
      return x.reshape([b, h, p, w, p, c]).transpose([0, 1, 3, 5, 2, 4]).reshape([b, h * w, c * p * p]);
    }
    const [b, c, hh, ww] = x.shape;
    const h = hh / p, w = ww / p;
    if (!Number.isInteger(h) || !Number.isInteger(w)) throw new Error(`image ${hh}×${ww} is not divisible by patch size ${p}`);
    return x.reshape([b, c, h, p, w, p]).transpose([0, 2, 4, 1, 3, 5]).reshape([b, h * w, c * p * p]);
  });
}

/** [B, h·w, p·p·C] with rows ordered (p_row, p_col, C) (MAE/RAE decoder) → [B, h·p, w·p, C] NHWC. */
export function unpatchify(x: Tensor, h: number, w: number, p: number, channels = 3): Tensor {
  return tf.tidy(() => {
    const b = x.shape[0];
    return x.reshape([b, h, w, p, p, channels]).transpose([0, 1, 3, 2, 4, 5]).reshape([b, h * p, w * p, channels]);
  });
}

/** Conv-style patch embedding with keys `proj.weight` [D, C, p, p] and `proj.bias` (timm / HF naming is set by the parent). */
export class PatchEmbed extends Module {
  readonly weight: Variable;
  readonly bias: Variable | null;
  constructor(readonly inChannels: number, readonly dim: number, readonly patch: number, opts: { bias?: boolean; rng?: Rng } = {}) {
    super();
    const shape = [dim, inChannels, patch, patch];
    // xavier on the flattened [D, C·p·p] view, as DiT initialises its patch embed
    const w = xavierUniform(defaultRng(opts.rng), [dim, inChannels * patch * patch]);
    this.weight = this.param('weight', tf.tidy(() => w.reshape(shape)));
    w.dispose();
    this.bias = opts.bias === false ? null : this.param('bias', zerosInit([dim]));
  }
  /** image → tokens [B, h·w, D] */
  forward(x: Tensor, layout: 'NHWC' | 'NCHW' = 'NHWC'): Tensor {
    return tf.tidy(() => {
      const rows = patchify(x, this.patch, layout);
      const [b, n, k] = rows.shape;
      let y = tf.matMul(rows.reshape([b * n, k]), this.weight.reshape([this.dim, k]), false, true);
      if (this.bias) y = y.add(this.bias);
      return y.reshape([b, n, this.dim]);
    });
  }
}
