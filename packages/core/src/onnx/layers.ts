/**
 * The project's nn building blocks as ONNX subgraphs, reading weights straight from the tfjs
 * modules (torch layouts: Linear W [out, in] becomes a MatMul by Wᵀ). Shapes use Reshape's `0`
 * (copy that dim) so batch and sequence length stay dynamic. Each helper mirrors the tfjs op order
 * of the module it exports (nn/norm.ts, nn/attention.ts, nn/rope.ts), so outputs agree to float
 * rounding (tests/core/onnx compare them against the tfjs forward).
 */
import { tf, type Tensor } from '../runtime/tf.js';
import type { Module } from '../nn/module.js';
import type { Linear } from '../nn/linear.js';
import { OnnxGraphBuilder, floatAttr } from './graph.js';

/** float32 host copy of a tensor. */
export function hostData(t: Tensor): Float32Array {
  const d = t.dataSync();
  if (!(d instanceof Float32Array)) throw new Error(`ONNX export: float32 weight expected, got ${t.dtype}`);
  return d;
}

/** Rotation by 90° of interleaved pairs as a matrix P [Dh, Dh]: x·P = (−x₁, x₀, −x₃, x₂, …) (nn/rope.ts rotateHalf). */
function rotateHalfMatrix(dh: number): Float32Array {
  const p = new Float32Array(dh * dh);
  for (let i = 0; i < dh; i += 2) {
    p[(i + 1) * dh + i] = -1;
    p[i * dh + i + 1] = 1;
  }
  return p;
}

export class OnnxLayers {
  readonly g: OnnxGraphBuilder;
  private readonly keys = new Map<Tensor, string>();

  /** `modules`: roots whose state-dict keys name the initializers (readable graphs). */
  constructor(name: string, modules: Module[] = []) {
    this.g = new OnnxGraphBuilder(name);
    for (const m of modules) for (const [k, v] of [...m.namedParameters(), ...m.namedBuffers()]) this.keys.set(v, k);
  }

  /** An initializer named by the tensor's state-dict key (+ suffix) when it has one. */
  private init(t: Tensor, suffix: string, data: Float32Array, dims: number[]): string {
    const key = this.keys.get(t);
    return key != null ? this.g.floatTensor(`${key}${suffix}`, data, dims) : this.g.floatInit(`w${suffix}`, data, dims);
  }

  /** A weight as an initializer, optionally reshaped. */
  weight(t: Tensor, dims: number[] = t.shape): string {
    return this.init(t, '', hostData(t), dims);
  }

  /** A constant float array. */
  constant(data: Float32Array, dims: number[], prefix = 'const'): string {
    return this.g.floatInit(prefix, data, dims);
  }

  scalar(v: number): string {
    return this.g.floatConst([v], []);
  }

  /** x [..., in] · Wᵀ (+ b) for a Linear with W [out, in]. */
  linear(x: string, l: Linear): string {
    const [out, inp] = l.weight.shape;
    return this.matmulT(x, l.weight, out, inp, l.bias);
  }

  /** x [..., in] · Wᵀ (+ b) for a weight tensor holding [out, in] values (any shape, e.g. a conv [D, C, p, p]). */
  matmulT(x: string, weight: Tensor, out: number, inp: number, bias: Tensor | null): string {
    const w = hostData(weight);
    if (w.length !== out * inp) throw new Error(`ONNX export: weight of ${w.length} values is not [${out}, ${inp}]`);
    const wt = new Float32Array(out * inp);
    for (let r = 0; r < out; r++) for (let c = 0; c < inp; c++) wt[c * out + r] = w[r * inp + c];
    const y = this.g.node('MatMul', [x, this.init(weight, '_t', wt, [inp, out])]);
    return bias ? this.g.node('Add', [y, this.weight(bias)]) : y;
  }

  /** x / sqrt(mean(x²) + eps) (· w): the pattern onnxruntime fuses into SimplifiedLayerNormalization. */
  rmsNorm(x: string, weight: Tensor | null, eps: number): string {
    const ms = this.g.node('ReduceMean', [this.g.node('Pow', [x, this.scalar(2)])], { axes: [-1], keepdims: 1 });
    const y = this.g.node('Div', [x, this.g.node('Sqrt', [this.g.node('Add', [ms, this.scalar(eps)])])]);
    return weight ? this.g.node('Mul', [y, this.weight(weight)]) : y;
  }

  /** LayerNormalization over the last axis (opset 17). */
  layerNorm(x: string, weight: Tensor, bias: Tensor | null, eps: number): string {
    const inputs = [x, this.weight(weight)];
    if (bias) inputs.push(this.weight(bias));
    return this.g.node('LayerNormalization', inputs, { axis: -1, epsilon: floatAttr(eps) });
  }

  silu(x: string): string {
    return this.g.node('Mul', [x, this.g.node('Sigmoid', [x])]);
  }

  /** An activation by its HF name (nn/activations.ts). */
  activation(x: string, name: string): string {
    const g = this.g;
    switch (name) {
      case 'gelu':
        return g.node('Mul', [g.node('Mul', [x, g.node('Add', [g.node('Erf', [g.node('Mul', [x, this.scalar(Math.SQRT1_2)])]), this.scalar(1)])]), this.scalar(0.5)]);
      case 'gelu_pytorch_tanh': case 'gelu_new': case 'gelu_fast': {
        const inner = g.node('Mul', [g.node('Add', [x, g.node('Mul', [g.node('Pow', [x, this.scalar(3)]), this.scalar(0.044715)])]), this.scalar(Math.sqrt(2 / Math.PI))]);
        return g.node('Mul', [g.node('Mul', [x, this.scalar(0.5)]), g.node('Add', [g.node('Tanh', [inner]), this.scalar(1)])]);
      }
      case 'quick_gelu':
        return g.node('Mul', [x, g.node('Sigmoid', [g.node('Mul', [x, this.scalar(1.702)])])]);
      case 'silu': case 'swish':
        return this.silu(x);
      case 'relu':
        return g.node('Relu', [x]);
      default:
        throw new Error(`ONNX export: activation "${name}" is not supported`);
    }
  }

  /** Equal parts along `axis`. */
  split(x: string, parts: number, axis = -1): string[] {
    return this.g.nodeN('Split', [x], { axis }, parts);
  }

  /** x[start:end] along `axis` (end may be a large number for "to the end"). */
  slice(x: string, axis: number, start: number, end: number): string {
    const g = this.g;
    return g.node('Slice', [x, g.int64Tensor([start]), g.int64Tensor([end]), g.int64Tensor([axis])]);
  }

  reshape(x: string, dims: number[]): string {
    return this.g.node('Reshape', [x, this.g.int64Tensor(dims)]);
  }

  /** [B, S, H·Dh] → [B, H, S, Dh] */
  splitHeads(x: string, heads: number, dh: number): string {
    return this.g.node('Transpose', [this.reshape(x, [0, 0, heads, dh])], { perm: [0, 2, 1, 3] });
  }

  /** [B, H, S, Dh] → [B, S, H·Dh] */
  mergeHeads(x: string, dim: number): string {
    return this.reshape(this.g.node('Transpose', [x], { perm: [0, 2, 1, 3] }), [0, 0, dim]);
  }

  /**
   * 2-D RoPE on [B, H, S, Dh]: x·cos + rotateHalf(x)·sin on the first `rows` tokens of the tables
   * (the image grid); later tokens have angle 0 (cos 1, sin 0) and pass unchanged.
   */
  rope(x: string, cos: Tensor, sin: Tensor, rows: number, seqLen: number | null): string {
    const g = this.g;
    const dh = cos.shape[1] as number;
    const c = hostData(cos).subarray(0, rows * dh), s = hostData(sin).subarray(0, rows * dh);
    const key = `${this.keys.get(cos) ?? 'rope'}|${rows}`;
    let consts = this.ropeConsts.get(key);
    if (consts == null) {
      consts = [this.constant(Float32Array.from(c), [rows, dh], 'rope_cos'), this.constant(Float32Array.from(s), [rows, dh], 'rope_sin'), this.constant(rotateHalfMatrix(dh), [dh, dh], 'rope_rot')];
      this.ropeConsts.set(key, consts);
    }
    const [cc, ss, rot] = consts;
    const apply = (t: string) => g.node('Add', [g.node('Mul', [t, cc]), g.node('Mul', [g.node('MatMul', [t, rot]), ss])]);
    if (seqLen === rows) return apply(x);
    const big = 1 << 30;
    return g.node('Concat', [apply(this.slice(x, 2, 0, rows)), this.slice(x, 2, rows, big)], { axis: 2 });
  }
  private readonly ropeConsts = new Map<string, string[]>();

  /** softmax(q·scale·kᵀ + mask)·v on [B, H, S, Dh]; mask additive, broadcastable to [B, H, S, S]. */
  attention(q: string, k: string, v: string, dh: number, mask: string | null): string {
    const g = this.g;
    let logits = g.node('MatMul', [g.node('Mul', [q, this.scalar(1 / Math.sqrt(dh))]), g.node('Transpose', [k], { perm: [0, 1, 3, 2] })]);
    if (mask) logits = g.node('Add', [logits, mask]);
    return g.node('MatMul', [g.node('Softmax', [logits], { axis: -1 }), v]);
  }

  /** x·(1 + scale) + shift (nn/modulate.ts); shift/scale [B, 1, D] or [B, N, D]. */
  modulate(x: string, shift: string, scale: string): string {
    const g = this.g;
    return g.node('Add', [g.node('Mul', [x, g.node('Add', [scale, this.scalar(1)])]), shift]);
  }

  /** [B, D] → [B, 1, D] */
  unsqueeze1(x: string): string {
    return this.g.node('Unsqueeze', [x, this.g.int64Tensor([1])]);
  }
}

/** Whether rows ≥ `from` of a RoPE table are the identity rotation (cos 1, sin 0). */
export function ropeTailIsIdentity(cos: Tensor, sin: Tensor, from: number): boolean {
  return tf.tidy(() => {
    const [r] = cos.shape;
    if (from >= r) return true;
    const c = cos.slice([from, 0], [-1, -1]), s = sin.slice([from, 0], [-1, -1]);
    return c.sub(1).abs().max().dataSync()[0] === 0 && s.abs().max().dataSync()[0] === 0;
  });
}
