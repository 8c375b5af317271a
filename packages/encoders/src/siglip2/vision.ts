/**
 * HF `Siglip2VisionModel` (NaFlex): inputs are already patchified rows [B, maxPatches, p·p·C]
 * (row order: patch row, patch column, channel), each image with its own patch grid (h, w) and a
 * mask of real rows. The learned √n × √n position grid is resized per image to (h, w) with
 * bilinear, align_corners=False, antialias=True; padded rows get the first resized vector. Padded
 * keys are masked in every attention and in the pooling head.
 */
import { tf, type Tensor, Module, Linear, LayerNorm, keyPaddingMask } from '@raev2/core';
import type { Siglip2VisionConfig } from '../siglip/config.js';
import { Embedding, SiglipEncoder } from '../siglip/layers.js';
import { SiglipMultiheadAttentionPoolingHead } from '../siglip/pooling_head.js';
import { interpolatePosTable } from '../vit/interpolate.js';
import type { SiglipVisionOutput } from '../siglip/vision.js';

/** Per-image patch grids (rows, cols): a host array or an int tensor [B, 2]. */
export type SpatialShapes = [number, number][] | Tensor;

export function toShapeList(s: SpatialShapes): [number, number][] {
  if (Array.isArray(s)) return s;
  if (s.rank !== 2 || s.shape[1] !== 2) throw new Error(`spatial_shapes must be [B, 2], got [${s.shape}]`);
  return s.arraySync() as [number, number][];
}

export class Siglip2VisionEmbeddings extends Module {
  readonly patch_embedding: Linear;
  readonly position_embedding: Embedding;
  constructor(readonly config: Siglip2VisionConfig) {
    super();
    const { num_channels: c, hidden_size: d, patch_size: p, num_patches: n } = config;
    this.patch_embedding = this.child('patch_embedding', new Linear(c * p * p, d, { init: 'zeros' }));
    this.position_embedding = this.child('position_embedding', new Embedding(n, d));
  }

  /** rows [B, M, p·p·C] + grids → [B, M, D] */
  forward(pixelValues: Tensor, shapes: [number, number][]): Tensor {
    const { patch_size: p, num_channels: c } = this.config;
    if (pixelValues.rank !== 3 || pixelValues.shape[2] !== p * p * c) throw new Error(`SigLIP-2 pixel_values must be patch rows [B, maxPatches, ${p * p * c}], got [${pixelValues.shape}]`);
    const [b, m] = pixelValues.shape;
    if (shapes.length !== b) throw new Error(`spatial_shapes has ${shapes.length} entries for a batch of ${b}`);
    shapes.forEach(([h, w], i) => {
      if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) throw new Error(`spatial_shapes[${i}] = [${h}, ${w}] must be positive integers`);
      if (h * w > m) throw new Error(`spatial_shapes[${i}] = [${h}, ${w}] needs ${h * w} patches but pixel_values has ${m} rows`);
    });
    return tf.tidy(() => {
      const table = this.position_embedding.weight.expandDims(0);
      const byShape = new Map<string, Tensor>(); // images of one size share their resized table
      const pos = shapes.map(([h, w]) => {
        const key = `${h}x${w}`;
        let r = byShape.get(key);
        if (r == null) {
          r = interpolatePosTable(table, [h, w], { mode: 'bilinear', antialias: true }).squeeze([0]); // [h·w, D]
          if (h * w < m) r = tf.concat([r, tf.tile(r.slice([0, 0], [1, -1]), [m - h * w, 1])], 0); // [M, D]
          byShape.set(key, r);
        }
        return r;
      });
      return this.patch_embedding.forward(pixelValues).add(tf.stack(pos));
    });
  }
}

/** `vision_model.*` */
export class Siglip2VisionTransformer extends Module {
  readonly embeddings: Siglip2VisionEmbeddings;
  readonly encoder: SiglipEncoder;
  readonly post_layernorm: LayerNorm;
  readonly head: SiglipMultiheadAttentionPoolingHead | null;
  constructor(readonly config: Siglip2VisionConfig) {
    super();
    this.embeddings = this.child('embeddings', new Siglip2VisionEmbeddings(config));
    this.encoder = this.child('encoder', new SiglipEncoder(config));
    this.post_layernorm = this.child('post_layernorm', new LayerNorm(config.hidden_size, config.layer_norm_eps));
    this.head = config.vision_use_head ? this.child('head', new SiglipMultiheadAttentionPoolingHead(config)) : null;
  }

  forward(pixelValues: Tensor, spatialShapes: SpatialShapes, pixelAttentionMask?: Tensor | null, opts: { withHead?: boolean } = {}): SiglipVisionOutput {
    const shapes = toShapeList(spatialShapes);
    const [b, m] = pixelValues.shape;
    if (pixelAttentionMask != null && (pixelAttentionMask.rank !== 2 || pixelAttentionMask.shape[0] !== b || pixelAttentionMask.shape[1] !== m)) {
      throw new Error(`pixel_attention_mask must be [${b}, ${m}], got [${pixelAttentionMask.shape}]`);
    }
    const emb = this.embeddings.forward(pixelValues, shapes);
    // Without an explicit mask the first h·w rows of each image are the real ones (the processor's
    // layout); when every row is real there is nothing to mask.
    const full = shapes.every(([h, w]) => h * w === m);
    const keep = pixelAttentionMask ?? (full ? null : maskFromShapes(shapes, m));
    const mask = keep == null ? null : keyPaddingMask(keep);
    if (keep !== pixelAttentionMask) keep?.dispose();
    const hiddenStates = this.encoder.forward(emb, mask);
    emb.dispose();
    const lastHiddenState = this.post_layernorm.forward(hiddenStates[hiddenStates.length - 1]);
    const poolerOutput = this.head && opts.withHead !== false ? this.head.forward(lastHiddenState, mask) : null;
    mask?.dispose();
    // one grid per image; `grid` reports the first (the same for all in fixed-resolution use)
    return { hiddenStates, lastHiddenState, poolerOutput, grid: [...shapes[0]], prefixTokens: 0, extras: {} };
  }
}

/** [B, M] keep-mask with the first h·w rows of each image set. */
export function maskFromShapes(shapes: [number, number][], maxPatches: number): Tensor {
  const data = new Int32Array(shapes.length * maxPatches);
  shapes.forEach(([h, w], i) => data.fill(1, i * maxPatches, i * maxPatches + h * w));
  return tf.tensor2d(data, [shapes.length, maxPatches], 'int32');
}

/** HF `Siglip2VisionModel`: state-dict keys `vision_model.*`. */
export class Siglip2VisionModel extends Module {
  readonly modelType = 'siglip2_vision_model';
  readonly vision_model: Siglip2VisionTransformer;
  constructor(readonly config: Siglip2VisionConfig) {
    super();
    this.vision_model = this.child('vision_model', new Siglip2VisionTransformer(config));
    this.eval();
  }
  /** patch rows [B, M, p·p·C], grids [B, 2], mask [B, M] (1 = real; derived from the grids when omitted) → outputs. */
  forward(pixelValues: Tensor, spatialShapes: SpatialShapes, pixelAttentionMask?: Tensor | null, opts: { withHead?: boolean } = {}): SiglipVisionOutput {
    return this.vision_model.forward(pixelValues, spatialShapes, pixelAttentionMask, opts);
  }
}
