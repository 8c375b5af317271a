/** HF ViT-MAE encoder. */
export { ViTMAEModel } from './model.js';
export { ViTMAEConfigSchema, type ViTMAEConfig } from './config.js';
export { randomMasking, type Masking } from './masking.js';
export { buildViTMAE } from './build.js';
