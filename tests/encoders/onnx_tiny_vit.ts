/**
 * A tiny pre-norm ViT written twice: as an ONNX graph (built with onnx-proto, opset 17) that outputs
 * `hidden_states.0 … hidden_states.L`, and as a plain tfjs computation with the same weights — the
 * test's reference for the ONNX encoder.
 */
import onnxProto from 'onnx-proto';
import { tf, Rng, type Tensor } from '@raev2/core';

const { onnx } = onnxProto;

export interface TinyVitConfig {
  hidden: number;
  heads: number;
  layers: number;
  patch: number;
  mlp: number;
  eps: number;
}

export type Weights = Map<string, { shape: number[]; data: Float32Array }>;

/** Seeded weights with HF-ViT-like names. */
export function tinyVitWeights(cfg: TinyVitConfig, tokens: number, seed = 0): Weights {
  const rng = new Rng(seed);
  const w: Weights = new Map();
  const put = (name: string, shape: number[], std: number, mean = 0): void => {
    const n = shape.reduce((a, b) => a * b, 1);
    w.set(name, { shape, data: Float32Array.from({ length: n }, () => mean + std * rng.normal()) });
  };
  const D = cfg.hidden;
  put('patch.weight', [D, 3, cfg.patch, cfg.patch], 1 / Math.sqrt(3 * cfg.patch * cfg.patch));
  put('patch.bias', [D], 0.1);
  put('cls', [1, 1, D], 0.5);
  put('pos', [1, tokens, D], 0.5);
  for (let l = 0; l < cfg.layers; l++) {
    const p = `layer.${l}.`;
    for (const n of ['ln1', 'ln2']) {
      put(p + n + '.weight', [D], 0.2, 1);
      put(p + n + '.bias', [D], 0.1);
    }
    for (const n of ['q', 'k', 'v', 'o']) {
      put(p + n + '.weight', [D, D], 1 / Math.sqrt(D)); // stored [in, out] (ONNX MatMul layout)
      put(p + n + '.bias', [D], 0.1);
    }
    put(p + 'fc1.weight', [D, cfg.mlp], 1 / Math.sqrt(D));
    put(p + 'fc1.bias', [cfg.mlp], 0.1);
    put(p + 'fc2.weight', [cfg.mlp, D], 1 / Math.sqrt(cfg.mlp));
    put(p + 'fc2.bias', [D], 0.1);
  }
  return w;
}

/** Serialised ONNX model: input pixel_values [B,3,H,W] → hidden_states.0…L [B,T,D]. */
export function tinyVitOnnx(cfg: TinyVitConfig, w: Weights): Uint8Array {
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const inits: onnxProto.onnx.ITensorProto[] = [];
  let k = 0;
  const fresh = (p: string): string => `${p}_${k++}`;
  const init = (name: string, shape: number[], data: Float32Array): string => {
    inits.push({ name, dims: shape, dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from(data) });
    return name;
  };
  const ints = (name: string, data: number[]): string => {
    inits.push({ name, dims: [data.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: data });
    return name;
  };
  const scalar = (v: number): string => init(fresh('c'), [], Float32Array.of(v));
  const W = (name: string): string => init(name, w.get(name)!.shape, w.get(name)!.data);
  const attr = (name: string, v: number | number[]): onnxProto.onnx.IAttributeProto =>
    Array.isArray(v) ? { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v } : Number.isInteger(v) ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v } : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v };
  const op = (opType: string, inputs: string[], attrs: onnxProto.onnx.IAttributeProto[] = []): string => {
    const out = fresh(opType);
    nodes.push({ opType, input: inputs, output: [out], attribute: attrs });
    return out;
  };
  const D = cfg.hidden, H = cfg.heads, hd = D / H;
  const linear = (x: string, p: string): string => op('Add', [op('MatMul', [x, W(p + '.weight')]), W(p + '.bias')]);
  const ln = (x: string, p: string): string => op('LayerNormalization', [x, W(p + '.weight'), W(p + '.bias')], [attr('axis', -1), attr('epsilon', cfg.eps)]);

  // Patch embedding: Conv stride p → [B,D,h,w] → [B,N,D]; prepend CLS (expanded to the batch), add positions.
  const conv = op('Conv', ['pixel_values', W('patch.weight'), W('patch.bias')], [attr('kernel_shape', [cfg.patch, cfg.patch]), attr('strides', [cfg.patch, cfg.patch])]);
  const patches = op('Transpose', [op('Reshape', [conv, ints('shape_bdn', [0, D, -1])])], [attr('perm', [0, 2, 1])]);
  const batch = op('Slice', [op('Shape', ['pixel_values']), ints('s0', [0]), ints('s1', [1])]);
  const clsShape = op('Concat', [batch, ints('one_d', [1, D])], [attr('axis', 0)]);
  const cls = op('Expand', [W('cls'), clsShape]);
  let x = op('Add', [op('Concat', [cls, patches], [attr('axis', 1)]), W('pos')]);
  const outputs = [x];
  const heads = ints('shape_heads', [0, 0, H, hd]);
  const merged = ints('shape_merged', [0, 0, D]);
  for (let l = 0; l < cfg.layers; l++) {
    const p = `layer.${l}.`;
    const h = ln(x, p + 'ln1');
    const split = (n: string, perm: number[]): string => op('Transpose', [op('Reshape', [linear(h, p + n), heads])], [attr('perm', perm)]);
    const q = split('q', [0, 2, 1, 3]), kT = split('k', [0, 2, 3, 1]), v = split('v', [0, 2, 1, 3]);
    const probs = op('Softmax', [op('Mul', [op('MatMul', [q, kT]), scalar(1 / Math.sqrt(hd))])], [attr('axis', -1)]);
    const ctx = op('Reshape', [op('Transpose', [op('MatMul', [probs, v])], [attr('perm', [0, 2, 1, 3])]), merged]);
    x = op('Add', [x, linear(ctx, p + 'o')]);
    const f = linear(ln(x, p + 'ln2'), p + 'fc1');
    const gelu = op('Mul', [op('Mul', [f, scalar(0.5)]), op('Add', [op('Erf', [op('Div', [f, scalar(Math.SQRT2)])]), scalar(1)])]);
    x = op('Add', [x, linear(gelu, p + 'fc2')]);
    outputs.push(x);
  }
  const outNames = outputs.map((o, i) => {
    const name = `hidden_states.${i}`;
    nodes.push({ opType: 'Identity', input: [o], output: [name] });
    return name;
  });
  const dyn = (dims: (number | string)[]): onnxProto.onnx.ITypeProto => ({
    tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } },
  });
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'raev2-tests',
    graph: {
      name: 'tiny_vit',
      node: nodes,
      initializer: inits,
      input: [{ name: 'pixel_values', type: dyn(['batch', 3, 'height', 'width']) }],
      output: outNames.map((name) => ({ name, type: dyn(['batch', 'tokens', D]) })),
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** The same network in tfjs (the reference): pixel values [B,3,H,W] → hidden states. */
export function tinyVitTf(cfg: TinyVitConfig, w: Weights, px: Tensor): Tensor[] {
  const T = (n: string): Tensor => tf.tensor(w.get(n)!.data, w.get(n)!.shape);
  const D = cfg.hidden, H = cfg.heads, hd = D / H;
  const ln = (x: Tensor, p: string): Tensor => {
    const m = x.mean(-1, true);
    const v = x.sub(m).square().mean(-1, true);
    return x.sub(m).div(v.add(cfg.eps).sqrt()).mul(T(p + '.weight')).add(T(p + '.bias'));
  };
  const linear = (x: Tensor, p: string): Tensor => {
    const [b, t] = x.shape;
    return x.reshape([-1, x.shape[2]!]).matMul(T(p + '.weight')).add(T(p + '.bias')).reshape([b!, t!, -1]);
  };
  const [B] = px.shape;
  const conv = tf.conv2d(px.transpose([0, 2, 3, 1]) as tf.Tensor4D, T('patch.weight').transpose([2, 3, 1, 0]) as tf.Tensor4D, cfg.patch, 'valid').add(T('patch.bias'));
  const patches = conv.reshape([B!, -1, D]);
  let x = tf.concat([T('cls').tile([B!, 1, 1]), patches], 1).add(T('pos'));
  const out = [x];
  for (let l = 0; l < cfg.layers; l++) {
    const p = `layer.${l}.`;
    const h = ln(x, p + 'ln1');
    const split = (n: string): Tensor => linear(h, p + n).reshape([B!, -1, H, hd]).transpose([0, 2, 1, 3]);
    const q = split('q'), k = split('k'), v = split('v');
    const probs = tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(hd)));
    const ctx = tf.matMul(probs, v).transpose([0, 2, 1, 3]).reshape([B!, -1, D]);
    x = x.add(linear(ctx, p + 'o'));
    const f = linear(ln(x, p + 'ln2'), p + 'fc1');
    x = x.add(linear(f.mul(0.5).mul(tf.erf(f.div(Math.SQRT2)).add(1)), p + 'fc2'));
    out.push(x);
  }
  return out;
}
