export { OnnxGraphBuilder, onnxProto, floatAttr, type AttrValue, type FloatAttr, type Dim, type ElemType } from './graph.js';
export { onnxRuntime, createOnnxSession, runOnnx, ortFloat, toOrtTensor, fromOrtTensor, type OnnxSessionOptions } from './session.js';
export { SyncOrtSession, ortTensor, resolveOrtProvider, cudaProviderInstalled, ORT_PROVIDERS, type OrtProvider, type SyncSessionOptions } from './sync_session.js';
export { buildVitOnnx, vitShapes, type OnnxVitConfig, type WeightMap } from './vit.js';
export { buildDiTOnnx, ditOnnxSignature, type DiTOnnxSignature } from './dit.js';
export { buildDecoderOnnx } from './decoder.js';
export { buildLayersModelOnnx } from './layers_model.js';
