export { ENGINES, DEFAULT_ENGINE, EngineSchema, resolveEngine, ENGINE_HELP, type EngineName } from './engine.js';
export { moduleHash, cachedGraph, ONNX_EXPORT_VERSION } from './cache.js';
export { ortDenoiser, type OrtDenoiser, type OrtModelOptions } from './denoiser.js';
export { ortDecoder, ortRaeDecode, type OrtDecoder } from './decoder.js';
export { engineDenoiser, engineDecoder, type EngineDenoiser, type EngineDecoder } from './select.js';
export { ortEncoder, type OrtEncoder } from './encoder.js';
export { ortLayersModel, type OrtLayersModel } from './layers_model.js';
