/** Shared ViT pieces for the HF families: interpolation, layers, the model interface and the Encoder adapter. */
export { interpolate, interpolatePosTable, resizeChannelsLast, torchResizeWeights, type InterpMode, type InterpOptions } from './interpolate.js';
export { ViTAttention, LayerScale, GatedMlp, SwiGLUFFN, PreNormLayer, plainMlp, runLayers, type FeedForward, type AttentionOptions, type PreNormLayerOptions, type RotateFn } from './layers.js';
export { disposeViTOutput, cropToPatches, checkChannels, type HFVisionModel, type ViTOutput, type ViTForwardOptions } from './model.js';
export { ViTEncoder, type ViTEncoderOptions } from './encoder.js';
