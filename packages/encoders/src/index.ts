/**
 * @raev2/encoders: the Encoder implementations, the encoder spec grammar and the built-in registry
 * entries (registered on import). The `raev2` commands live in @raev2/cli.
 */
import './builtin.js';
export { registerEncoder, createEncoder, listEncoders, type EncoderFactory, type SpecOptions } from '@raev2/core';
export * from './spec.js';
export { HF_ENCODERS, MULTI_LAYER_PRESETS, GLOBAL_TERM_BY_MODEL_TYPE } from './builtin.js';
export * from './cnn/index.js';
export * from './onnx/index.js';
export * from './siglip/index.js';
export * from './siglip2/index.js';
export * from './text/index.js';
export * from './hf/index.js';
export * from './vit/index.js';
export * from './preprocess/index.js';
export * from './dinov2/index.js';
export * from './dinov3/index.js';
export * from './vit_mae/index.js';
export * from './clip/index.js';
