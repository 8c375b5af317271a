/**
 * A tfjs-layers CNN (e.g. the nsfwjs MobileNetV2 the offline encoders use) as an ONNX graph:
 * InputLayer, ZeroPadding2D, Conv2D, DepthwiseConv2D (group conv), BatchNormalization (inference),
 * ReLU (with max value → Clip), Add. Input `input` NHWC [batch, height, width, C] (dynamic sizes,
 * 'same' padding as SAME_UPPER like TensorFlow); one output per model output, NHWC, named by its
 * layer. Other layer kinds are refused by name.
 */
import { tf } from '../runtime/tf.js';
import { OnnxGraphBuilder, floatAttr } from './graph.js';
import { hostData } from './layers.js';

interface LayerLike {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  getWeights(): tf.Tensor[];
  inboundNodes: { inboundLayers: LayerLike[] }[];
}

/** Keras kernel [kh, kw, in, out] → ONNX [out, in, kh, kw]. */
function convWeight(k: tf.Tensor): { data: Float32Array; dims: number[] } {
  const [kh, kw, cin, cout] = k.shape;
  const t = tf.tidy(() => k.transpose([3, 2, 0, 1]));
  const data = hostData(t).slice();
  t.dispose();
  return { data, dims: [cout, cin, kh, kw] };
}

/** Depthwise kernel [kh, kw, in, mult] → group-conv weight [in·mult, 1, kh, kw] (channel i·mult + m). */
function depthwiseWeight(k: tf.Tensor): { data: Float32Array; dims: number[] } {
  const [kh, kw, cin, mult] = k.shape;
  const t = tf.tidy(() => k.transpose([2, 3, 0, 1]));
  const data = hostData(t).slice();
  t.dispose();
  return { data, dims: [cin * mult, 1, kh, kw] };
}

const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v as number, v as number]);

/** ModelProto bytes of `model` (a functional tf.LayersModel built from the supported layers). */
export function buildLayersModelOnnx(model: tf.LayersModel): Uint8Array {
  const g = new OnnxGraphBuilder('layers_model');
  const values = new Map<string, string>(); // layer name → its NCHW output value
  const layers = model.layers as unknown as LayerLike[];
  const inputLayer = layers.find((l) => l.getClassName() === 'InputLayer');
  if (inputLayer == null || model.inputs.length !== 1) throw new Error('ONNX export: one InputLayer expected');
  const channels = model.inputs[0].shape[3] as number;
  const x = g.input('input', ['batch', 'height', 'width', channels]);
  values.set(inputLayer.name, g.node('Transpose', [x], { perm: [0, 3, 1, 2] }));
  for (const l of layers) {
    const kind = l.getClassName();
    if (kind === 'InputLayer') continue;
    const cfg = l.getConfig();
    const ins = (l.inboundNodes[0]?.inboundLayers ?? []).map((p) => {
      const v = values.get(p.name);
      if (v == null) throw new Error(`ONNX export: layer ${l.name} reads ${p.name}, which is not built yet`);
      return v;
    });
    const w = l.getWeights();
    const act = (v: string) => {
      const a = cfg.activation as string | undefined;
      if (a == null || a === 'linear') return v;
      if (a === 'relu') return g.node('Relu', [v]);
      throw new Error(`ONNX export: layer ${l.name}: activation ${a} is not supported`);
    };
    let out: string;
    switch (kind) {
      case 'ZeroPadding2D': {
        const [[t, b], [left, r]] = cfg.padding as [[number, number], [number, number]];
        out = g.node('Pad', [ins[0], g.int64Tensor([0, 0, t, left, 0, 0, b, r])], { mode: 'constant' });
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const depthwise = kind === 'DepthwiseConv2D';
        const k = depthwise ? depthwiseWeight(w[0]) : convWeight(w[0]);
        const inputs = [ins[0], g.floatInit(`${l.name}_w`, k.data, k.dims)];
        if (w[1] != null) inputs.push(g.floatInit(`${l.name}_b`, hostData(w[1]).slice(), w[1].shape));
        const attrs: Record<string, number | number[] | string> = { kernel_shape: k.dims.slice(2), strides: pair(cfg.strides), dilations: pair(cfg.dilationRate ?? 1) };
        if (cfg.padding === 'same') attrs.auto_pad = 'SAME_UPPER';
        else if (cfg.padding !== 'valid') throw new Error(`ONNX export: layer ${l.name}: padding ${String(cfg.padding)}`);
        if (depthwise) attrs.group = w[0].shape[2] as number;
        if (cfg.dataFormat != null && cfg.dataFormat !== 'channelsLast') throw new Error(`ONNX export: layer ${l.name}: channelsLast expected`);
        out = act(g.node('Conv', inputs, attrs));
        break;
      }
      case 'BatchNormalization': {
        if (cfg.axis !== -1 && cfg.axis !== 3 && !(Array.isArray(cfg.axis) && cfg.axis[0] === -1)) throw new Error(`ONNX export: layer ${l.name}: axis ${String(cfg.axis)}`);
        const c = w[w.length - 1].shape[0];
        let i = 0;
        const gamma = cfg.scale !== false ? hostData(w[i++]).slice() : new Float32Array(c).fill(1);
        const beta = cfg.center !== false ? hostData(w[i++]).slice() : new Float32Array(c);
        const mean = hostData(w[i++]).slice(), variance = hostData(w[i++]).slice();
        out = g.node('BatchNormalization', [ins[0], g.floatInit(`${l.name}_g`, gamma, [c]), g.floatInit(`${l.name}_b`, beta, [c]), g.floatInit(`${l.name}_m`, mean, [c]), g.floatInit(`${l.name}_v`, variance, [c])], { epsilon: floatAttr(cfg.epsilon as number) });
        break;
      }
      case 'ReLU': {
        if ((cfg.negativeSlope ?? 0) !== 0 || (cfg.threshold ?? 0) !== 0) throw new Error(`ONNX export: layer ${l.name}: leaky/threshold ReLU`);
        out = cfg.maxValue == null ? g.node('Relu', [ins[0]]) : g.node('Clip', [ins[0], g.floatConst([0], []), g.floatConst([cfg.maxValue as number], [])]);
        break;
      }
      case 'Add':
        out = ins.slice(1).reduce((acc, v) => g.node('Add', [acc, v]), ins[0]);
        break;
      default:
        throw new Error(`ONNX export: layer ${l.name} of kind ${kind} is not supported`);
    }
    values.set(l.name, out);
  }
  for (const o of model.outputs) {
    const layerName = o.name.split('/')[0];
    const v = values.get(layerName);
    if (v == null) throw new Error(`ONNX export: output ${o.name} has no layer`);
    g.output(g.node('Transpose', [v], { perm: [0, 2, 3, 1] }, layerName));
  }
  return g.build();
}
