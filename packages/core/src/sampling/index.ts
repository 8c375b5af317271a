export * from './denoiser.js';
export * from './time_grid.js';
export * from './samplers.js';
export * from './guidance.js';
