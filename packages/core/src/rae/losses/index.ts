export * from './l1.js';
export * from './perceptual.js';
export * from './lpips.js';
export * from './gan.js';
export * from './diffaug.js';
export * from './discriminator.js';
export * from './adaptive.js';
export * from './schedule.js';
