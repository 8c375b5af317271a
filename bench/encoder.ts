/**
 * Encoder throughput (images/s): a randomly initialised DINOv2-architecture ViT — our tfjs
 * `Dinov2Model` (all hidden states, as the RAE encoder uses it) against the same weights as an
 * ONNX graph (core's ONNX ViT builder) run by onnxruntime-node directly (the hand-exported graph),
 * and through the engine's `ortEncoder` (the Encoder contract: tfjs tensors in, every hidden state
 * out as tfjs tensors). Each case also checks that tfjs and onnxruntime give the same last hidden state.
 */
import { tf, Rng, parseWith, buildVitOnnx, createOnnxSession, ortFloat, ortEncoder, disposeOutput, type Encoder } from '@raev2/core';
import { Dinov2Model, Dinov2ConfigSchema, disposeViTOutput } from '@raev2/encoders';
import type { BenchContext } from './context.js';
import { medianMs, interleavedMedianMs, fmt, maxAbsDiff } from './timing.js';
import type { Table } from './table.js';

export interface EncoderCase {
  name: string;
  dim: number;
  layers: number;
  heads: number;
  patch: number;
  image: number;
  batch: number;
}

export interface EncoderResult extends EncoderCase {
  /** images/s */
  tfjs: number;
  onnx: number;
  /** images/s through ortEncoder (engine) on the same graph. */
  engine: number;
  /** max |tfjs − onnx| / max |onnx| of the last hidden state. */
  relDiff: number;
}

export function encoderCases(smoke: boolean): EncoderCase[] {
  return smoke
    ? [{ name: 'tiny ViT', dim: 32, layers: 2, heads: 2, patch: 8, image: 32, batch: 2 }]
    : [
        { name: 'ViT-S/14', dim: 384, layers: 12, heads: 6, patch: 14, image: 224, batch: 2 },
        { name: 'ViT-B/16', dim: 768, layers: 12, heads: 12, patch: 16, image: 224, batch: 2 },
      ];
}

/** Forward FLOPs per image: patch embedding + per layer 24·T·D² (linears) + 4·T²·D (attention). */
export function encoderFlops(c: EncoderCase): number {
  const n = (c.image / c.patch) ** 2, t = n + 1;
  return 2 * n * 3 * c.patch * c.patch * c.dim + c.layers * (24 * t * c.dim * c.dim + 4 * t * t * c.dim);
}

function randomDinov2(c: EncoderCase, rng: Rng): Dinov2Model {
  const config = parseWith(Dinov2ConfigSchema, {
    model_type: 'dinov2', hidden_size: c.dim, num_hidden_layers: c.layers, num_attention_heads: c.heads,
    patch_size: c.patch, image_size: c.image, layerscale_value: 1,
  }, `bench ${c.name} config`);
  const model = new Dinov2Model(config);
  const sd = new Map(model.namedParameters().map(([k, v]) => {
    const isScale = v.rank === 1 && (k.endsWith('norm1.weight') || k.endsWith('norm2.weight') || k === 'layernorm.weight' || k.endsWith('lambda1'));
    return [k, isScale ? tf.onesLike(v) : rng.randn(v.shape, 0, 0.02)];
  }));
  model.loadStateDict(sd);
  tf.dispose([...sd.values()]);
  return model;
}

export async function benchEncoder(ctx: BenchContext): Promise<{ table: Table; results: EncoderResult[] }> {
  await tf.setBackend(ctx.backend);
  const results: EncoderResult[] = [];
  for (const c of encoderCases(ctx.smoke)) {
    ctx.log(`encoder ${c.name} (D=${c.dim}, ${c.layers} layers, ${c.heads} heads, ${c.image} px, batch ${c.batch})`);
    const rng = new Rng(2);
    const model = randomDinov2(c, rng);
    const pxData = rng.uniformArray(c.batch * 3 * c.image * c.image, -2, 2);
    const px = tf.tensor4d(pxData, [c.batch, 3, c.image, c.image]);
    const flops = c.batch * encoderFlops(c);
    let tfLast: Float32Array = new Float32Array(0);
    const tfMs = await medianMs(() => {
      const out = model.forward(px);
      tfLast = out.lastHiddenState.dataSync() as Float32Array;
      disposeViTOutput(out);
    }, ctx.timing(flops));
    const graph = buildVitOnnx(model.stateDict(), { numHeads: c.heads, eps: model.config.layer_norm_eps });
    const session = await createOnnxSession(graph, { threads: ctx.onnxThreads });
    model.dispose();
    const feeds = { pixel_values: ortFloat(pxData, [c.batch, 3, c.image, c.image]) };
    let onnxLast: Float32Array = new Float32Array(0);
    const base: Encoder = {
      name: c.name, numLayers: c.layers, hiddenSize: c.dim, patchSize: c.patch, imageSize: [c.image, c.image], imageMean: [0, 0, 0], imageStd: [1, 1, 1],
      preprocess: (x) => x, forward: () => { throw new Error('unused'); }, latentNorm: (h) => h, dispose: () => {},
    };
    const eng = ortEncoder(base, graph, { threads: ctx.onnxThreads });
    // the hand-exported graph and ortEncoder in alternation: their ratio is the target (≥ 0.9)
    const [onnxMs, engineMs] = await interleavedMedianMs([
      async () => { onnxLast = (await session.run(feeds)).last_hidden_state.data as Float32Array; },
      () => disposeOutput(eng.forward(px)),
    ], { ...ctx.timing(flops), repeats: ctx.smoke ? 1 : 5, minRepeats: ctx.smoke ? 1 : 5 });
    await session.release();
    eng.dispose();
    px.dispose();
    const scale = onnxLast.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
    results.push({ ...c, tfjs: (1000 * c.batch) / tfMs, onnx: (1000 * c.batch) / onnxMs, engine: (1000 * c.batch) / engineMs, relDiff: maxAbsDiff(tfLast, onnxLast) / scale });
  }
  const table: Table = {
    title: `encoder throughput, random weights (images/s, median; ${ctx.backend} vs onnxruntime-node)`,
    headers: ['model', 'GFLOP/img', ctx.backend, 'onnx', 'ortEncoder', `${ctx.backend}/onnx`, 'ortEncoder/onnx', `${ctx.backend} GFLOP/s`, 'onnx GFLOP/s', 'rel diff'],
    rows: results.map((r) => {
      const f = encoderFlops(r);
      return [`${r.name} ${r.image}px ×${r.batch}`, fmt(f / 1e9, 2), fmt(r.tfjs, 2), fmt(r.onnx, 2), fmt(r.engine, 2), fmt(r.tfjs / r.onnx, 2), fmt(r.engine / r.onnx, 2), fmt((r.tfjs * f) / 1e9), fmt((r.onnx * f) / 1e9), r.relDiff.toExponential(1)];
    }),
    notes: ['tfjs: Dinov2Model.forward with all hidden states; onnx: the same weights through buildVitOnnx (all hidden states as outputs), session.run on prepared feeds; ortEncoder: the same graph behind the Encoder interface (tensor copies in and out included), timed in alternation with onnx'],
  };
  return { table, results };
}
