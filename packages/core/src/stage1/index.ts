export * from './config.js';
export * from './data.js';
export * from './images.js';
export * from './samples.js';
export * from './step.js';
export * from './eval.js';
export * from './train.js';
