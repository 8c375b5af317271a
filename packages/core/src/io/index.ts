export * from './safetensors.js';
export * from './dtype.js';
