export * from './safetensors.js';
export * from './dtype.js';
export * from './image.js';
export * from './grid.js';
export * from './atomic.js';
export * from './output.js';
export * from './run_lock.js';
