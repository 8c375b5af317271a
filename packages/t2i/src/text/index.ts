/** Text encoders for T2I: the registry of spec strings and the checked SigLIP loader. */
export { registerTextEncoder, listTextEncoders, loadTextEncoder, parseTextEncoderSpec, type TextEncoderFactory } from './registry.js';
export { loadCheckedSiglipTextEncoder, checkTokenizerMatchesTower, withTruncationWarning } from './load.js';
export { extractTextFeatures, type TextFeatureOptions } from './features.js';
