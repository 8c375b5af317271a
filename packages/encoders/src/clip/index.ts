/** HF CLIP vision tower. */
export { ClipVisionModel } from './model.js';
export { ClipVisionConfigSchema, ClipConfigSchema, type ClipVisionConfig } from './config.js';
export { buildClipVision } from './build.js';
