export { OnnxGraphBuilder, onnxProto, floatAttr, type AttrValue, type FloatAttr, type Dim, type ElemType } from './graph.js';
export { onnxRuntime, createOnnxSession, runOnnx, ortFloat, toOrtTensor, fromOrtTensor, type OnnxSessionOptions } from './session.js';
export { buildMatMulModel } from './matmul.js';
export { buildVitOnnx, vitShapes, type OnnxVitConfig, type WeightMap } from './vit.js';
