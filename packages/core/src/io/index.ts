export * from './safetensors.js';
export * from './dtype.js';
export * from './image.js';
export * from './grid.js';
