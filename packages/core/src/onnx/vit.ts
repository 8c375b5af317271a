/**
 * A DINOv2-style ViT as an ONNX graph, built from an HF `Dinov2Model` /
 * `Dinov2WithRegistersModel` state dict: patch embed as reshape + MatMul, [CLS] (+ registers after
 * the position add), pre-norm layers with LayerNormalization (opset 17), attention from
 * MatMul/Softmax, exact GELU via Erf, optional layer scale, final `layernorm`.
 * Input `pixel_values` [batch, C, H, W] (normalised, NCHW, the native size of the position table);
 * outputs `hidden_states.0 … hidden_states.L` and `last_hidden_state`, each [batch, T, D]
 * (the layout optimum exports with output_hidden_states, so the encoders' ONNX loader reads it).
 */
import { tf, type Tensor } from '../runtime/tf.js';
import type { HostTensor } from '../io/safetensors.js';
import { OnnxGraphBuilder, floatAttr } from './graph.js';

export interface OnnxVitConfig {
  numHeads: number;
  /** LayerNorm eps (default 1e-6, DINOv2's). */
  eps?: number;
}

/** A state dict as tfjs tensors or host arrays, by HF key. */
export type WeightMap = Map<string, Tensor | HostTensor>;

interface Weight {
  data: Float32Array;
  shape: number[];
}

function getter(weights: WeightMap) {
  return (key: string): Weight => {
    const w = weights.get(key);
    if (w == null) throw new Error(`ONNX ViT: state dict has no '${key}'`);
    const data = w instanceof tf.Tensor ? w.dataSync() : w.data;
    if (!(data instanceof Float32Array)) throw new Error(`ONNX ViT: '${key}' must be float32`);
    return { data, shape: [...w.shape] };
  };
}

/** W [out, in] (torch Linear) → Wᵀ [in, out] for `x · Wᵀ` as MatMul. */
function transpose2d({ data, shape: [rows, cols] }: Weight): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** Shape facts read from the state dict. */
export function vitShapes(weights: WeightMap): { dim: number; channels: number; patch: number; grid: number; layers: number; registers: number } {
  const get = getter(weights);
  const [dim, channels, patch] = get('embeddings.patch_embeddings.projection.weight').shape;
  const tokens = get('embeddings.position_embeddings').shape[1] - 1;
  const grid = Math.round(Math.sqrt(tokens));
  if (grid * grid !== tokens) throw new Error(`ONNX ViT: position table has ${tokens} patch rows, not a square grid`);
  let layers = 0;
  while (weights.has(`encoder.layer.${layers}.norm1.weight`)) layers++;
  const registers = weights.has('embeddings.register_tokens') ? get('embeddings.register_tokens').shape[1] : 0;
  return { dim, channels, patch, grid, layers, registers };
}

/** ModelProto bytes of the ViT described by `weights` (HF DINOv2 keys). */
export function buildVitOnnx(weights: WeightMap, config: OnnxVitConfig): Uint8Array {
  const get = getter(weights);
  const { dim, channels: c, patch: p, grid, layers, registers } = vitShapes(weights);
  if (weights.has('encoder.layer.0.mlp.weights_in.weight')) throw new Error('ONNX ViT: the SwiGLU FFN is not supported');
  const heads = config.numHeads;
  if (dim % heads !== 0) throw new Error(`ONNX ViT: hidden size ${dim} is not divisible by ${heads} heads`);
  const eps = config.eps ?? 1e-6;
  const n = grid * grid;
  const g = new OnnxGraphBuilder('vit');
  const w = (key: string) => { const t = get(key); return g.floatTensor(key, t.data, t.shape); };
  const linearT = (key: string) => { const t = get(`${key}.weight`); return g.floatTensor(`${key}.weight_t`, transpose2d(t), [t.shape[1], t.shape[0]]); };
  const linear = (x: string, key: string) => g.node('Add', [g.node('MatMul', [x, linearT(key)]), w(`${key}.bias`)]);
  const layerNorm = (x: string, key: string) => g.node('LayerNormalization', [x, w(`${key}.weight`), w(`${key}.bias`)], { axis: -1, epsilon: floatAttr(eps) });
  const half = g.floatConst([0.5], []), one = g.floatConst([1], []), invSqrt2 = g.floatConst([Math.SQRT1_2], []);
  const gelu = (x: string) => g.node('Mul', [g.node('Mul', [x, half]), g.node('Add', [g.node('Erf', [g.node('Mul', [x, invSqrt2])]), one])]);
  const slice = (x: string, start: number, end: number) =>
    g.node('Slice', [x, g.int64Tensor([start]), g.int64Tensor([end]), g.int64Tensor([1])]);

  // embeddings: patches [B, C, gh·p, gw·p] → [B, N, C·p·p] (rows ordered like the conv weight) → [B, N, D]
  const px = g.input('pixel_values', ['batch', c, grid * p, grid * p]);
  const cols = g.node('Reshape', [g.node('Transpose', [g.node('Reshape', [px, g.int64Tensor([-1, c, grid, p, grid, p])])], { perm: [0, 2, 4, 1, 3, 5] }), g.int64Tensor([-1, n, c * p * p])]);
  const conv = get('embeddings.patch_embeddings.projection.weight');
  const projT = g.floatTensor('embeddings.patch_embeddings.projection.weight_t', transpose2d({ data: conv.data, shape: [dim, c * p * p] }), [c * p * p, dim]);
  const patches = g.node('Add', [g.node('MatMul', [cols, projT]), w('embeddings.patch_embeddings.projection.bias')]);
  const batch = g.node('Shape', [px], { start: 0, end: 1 });
  const expandTo = (key: string, rows: number) => g.node('Expand', [w(key), g.node('Concat', [batch, g.int64Tensor([rows, dim])], { axis: 0 })]);
  let x = g.node('Add', [g.node('Concat', [expandTo('embeddings.cls_token', 1), patches], { axis: 1 }), w('embeddings.position_embeddings')]);
  if (registers > 0) {
    // registers go after the position add, between CLS and the patches
    x = g.node('Concat', [slice(x, 0, 1), expandTo('embeddings.register_tokens', registers), slice(x, 1, n + 1)], { axis: 1 });
  }
  const hidden = [g.node('Identity', [x], {}, 'hidden_states.0')];

  const tokens = 1 + registers + n, dh = dim / heads;
  const headShape = g.int64Tensor([-1, tokens, heads, dh]);
  const mergedShape = g.int64Tensor([-1, tokens, dim]);
  const scale = g.floatConst([1 / Math.sqrt(dh)], []);
  const split = (t: string, perm: number[]) => g.node('Transpose', [g.node('Reshape', [t, headShape])], { perm });
  for (let i = 0; i < layers; i++) {
    const pre = `encoder.layer.${i}`;
    const a = `${pre}.attention.attention`;
    const h1 = layerNorm(x, `${pre}.norm1`);
    const q = split(linear(h1, `${a}.query`), [0, 2, 1, 3]); // [B, H, T, Dh]
    const kT = split(linear(h1, `${a}.key`), [0, 2, 3, 1]); // [B, H, Dh, T]
    const v = split(linear(h1, `${a}.value`), [0, 2, 1, 3]);
    const probs = g.node('Softmax', [g.node('Mul', [g.node('MatMul', [q, kT]), scale])], { axis: -1 });
    const ctx = g.node('Reshape', [g.node('Transpose', [g.node('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }), mergedShape]);
    let attn = linear(ctx, `${pre}.attention.output.dense`);
    if (weights.has(`${pre}.layer_scale1.lambda1`)) attn = g.node('Mul', [attn, w(`${pre}.layer_scale1.lambda1`)]);
    const r = g.node('Add', [x, attn]);
    let m = linear(gelu(linear(layerNorm(r, `${pre}.norm2`), `${pre}.mlp.fc1`)), `${pre}.mlp.fc2`);
    if (weights.has(`${pre}.layer_scale2.lambda1`)) m = g.node('Mul', [m, w(`${pre}.layer_scale2.lambda1`)]);
    x = g.node('Add', [r, m], {}, `hidden_states.${i + 1}`);
    hidden.push(x);
  }
  for (const h of hidden) g.output(h, ['batch', tokens, dim]);
  g.output(g.node('Identity', [layerNorm(x, 'layernorm')], {}, 'last_hidden_state'), ['batch', tokens, dim]);
  return g.build();
}
