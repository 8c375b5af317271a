export * from './runtime/index.js';
export * from './nn/index.js';
export * from './io/index.js';
export * from './encoder.js';
export * from './rae/latent.js';
