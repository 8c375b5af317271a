/** HF DINOv3 ViT. */
export { Dinov3Model } from './model.js';
export { Dinov3ConfigSchema, type Dinov3Config } from './config.js';
export { ropeTables, ropeRotate } from './rope.js';
export { buildDinov3 } from './build.js';
