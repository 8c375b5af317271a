/** HF DINOv2 (± registers). */
export { Dinov2Model } from './model.js';
export { Dinov2ConfigSchema, type Dinov2Config } from './config.js';
export { buildDinov2 } from './build.js';
