/**
 * A small in-memory ONNX graph builder on `onnx-proto` (protobufjs): named inputs, outputs,
 * float / int64 initializers and nodes, serialised to ModelProto bytes (IR 8, default opset 17,
 * the first with LayerNormalization). onnx-proto is loaded on first use so that importing the
 * core package does not pay for it.
 */
import { createRequire } from 'node:module';
import type { onnx as OnnxNs } from 'onnx-proto';

const require = createRequire(import.meta.url);
let proto: typeof OnnxNs | null = null;

/** The onnx-proto namespace (loaded lazily). */
export function onnxProto(): typeof OnnxNs {
  proto ??= (require('onnx-proto') as { onnx: typeof OnnxNs }).onnx;
  return proto;
}

/** A float attribute (plain numbers are ints, as ONNX needs the distinction); make one with floatAttr(). */
export interface FloatAttr {
  readonly float: number;
}
export const floatAttr = (value: number): FloatAttr => ({ float: value });
export type AttrValue = number | number[] | string | FloatAttr;

/** Tensor element types used here (ONNX TensorProto.DataType codes). */
const ELEM = { float32: 1, int32: 6, int64: 7 } as const;
export type ElemType = keyof typeof ELEM;

/** A dimension: a fixed size or a symbolic name (e.g. 'batch'). */
export type Dim = number | string;

function valueInfo(name: string, dims: Dim[] | undefined, type: ElemType): OnnxNs.IValueInfoProto {
  const shape = dims == null ? undefined : { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType: { elemType: ELEM[type], shape } } };
}

function attribute(name: string, v: AttrValue): OnnxNs.IAttributeProto {
  const T = onnxProto().AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) {
    if (!v.every(Number.isInteger)) throw new Error(`ONNX attribute ${name}: int list expected, got [${v}]`);
    return { name, type: T.INTS, ints: v };
  }
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`ONNX attribute ${name}: ${v} is not an int (wrap floats with floatAttr())`);
    return { name, type: T.INT, i: v };
  }
  return { name, type: T.FLOAT, f: v.float };
}

/** Collects a graph; `node()` returns output names so graphs read like expressions. */
export class OnnxGraphBuilder {
  private readonly nodes: OnnxNs.INodeProto[] = [];
  private readonly inits: OnnxNs.ITensorProto[] = [];
  private readonly inputs: OnnxNs.IValueInfoProto[] = [];
  private readonly outputs: OnnxNs.IValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly name = 'raev2') {}

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    let n: string;
    do n = `${prefix}_${this.counter++}`;
    while (this.names.has(n));
    this.names.add(n);
    return n;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`ONNX graph ${this.name}: value name '${name}' used twice`);
    this.names.add(name);
    return name;
  }

  /** Declare a graph input. */
  input(name: string, dims: Dim[], type: ElemType = 'float32'): string {
    this.inputs.push(valueInfo(this.claim(name), dims, type));
    return name;
  }

  /** Declare `value` as a graph output (dims optional: ORT infers them). */
  output(value: string, dims?: Dim[], type: ElemType = 'float32'): void {
    this.outputs.push(valueInfo(value, dims, type));
  }

  /** A float32 initializer (constant weight) of shape `dims`. */
  floatTensor(name: string, data: Float32Array, dims: number[]): string {
    return this.pushFloat(this.claim(name), data, dims);
  }

  /** A float32 initializer under a fresh name starting with `prefix`. */
  floatInit(prefix: string, data: Float32Array, dims: number[]): string {
    return this.pushFloat(this.fresh(prefix), data, dims);
  }

  private pushFloat(name: string, data: Float32Array, dims: number[]): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new Error(`ONNX initializer ${name}: ${data.length} values for shape [${dims}]`);
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength); // little-endian, as ONNX raw_data is
    this.inits.push({ name, dataType: ELEM.float32, dims, rawData: raw });
    return name;
  }

  /** An int64 initializer (shapes, axes, indices); a 0-d scalar when `dims` is []. */
  int64Tensor(values: number[], dims: number[] = [values.length], prefix = 'const'): string {
    const name = this.fresh(prefix);
    this.inits.push({ name, dataType: ELEM.int64, dims, int64Data: values });
    return name;
  }

  /** A float scalar or vector constant. */
  floatConst(values: number[], dims: number[] = [values.length], prefix = 'const'): string {
    return this.pushFloat(this.fresh(prefix), Float32Array.from(values), dims);
  }

  /** Append a node; returns its output names (`outputs` = how many, or explicit names). */
  nodeN(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs: number | string[] = 1): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase())) : outputs.map((o) => this.claim(o));
    this.nodes.push({
      opType,
      input: inputs,
      output: outs,
      name: this.fresh(`n_${opType}`),
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Append a single-output node; `out` names the output explicitly. */
  node(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, out?: string): string {
    return this.nodeN(opType, inputs, attrs, out == null ? 1 : [out])[0];
  }

  /** Serialise to ModelProto bytes. */
  build(opset = 17): Uint8Array {
    const onnx = onnxProto();
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'raev2',
      opsetImport: [{ domain: '', version: opset }],
      graph: { name: this.name, node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
