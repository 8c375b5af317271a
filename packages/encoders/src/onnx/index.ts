export { OnnxEncoder, hiddenStateOutputs, type OnnxEncoderConfig } from './encoder.js';
export { loadOnnxEncoder, onnxEncoderConfig, resolveOnnxFile } from './load.js';
