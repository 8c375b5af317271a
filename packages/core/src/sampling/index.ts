export * from './denoiser.js';
export * from './grid.js';
export * from './samplers.js';
export * from './guidance.js';
