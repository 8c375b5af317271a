/** SigLIP (1) vision and text towers, configs and loaders; the text tower is shared with SigLIP-2. */
export {
  SiglipVisionConfigSchema, Siglip2VisionConfigSchema, SiglipTextConfigSchema, SIGLIP_MODEL_TYPES,
  parseSiglipVisionConfig, parseSiglip2VisionConfig, parseSiglipTextConfig,
  type SiglipVisionConfig, type Siglip2VisionConfig, type SiglipTextConfig, type SiglipModelType,
} from './config.js';
export { SiglipAttention, SiglipEncoderLayer, SiglipEncoder, type SiglipTowerShape } from './layers.js';
export { SiglipMultiheadAttentionPoolingHead, MultiheadAttention } from './pooling_head.js';
export { SiglipVisionModel, SiglipVisionTransformer, SiglipVisionEmbeddings, disposeVisionOutput, type SiglipVisionOutput } from './vision.js';
export { SiglipTextModel, SiglipTextTransformer, SiglipTextEmbeddings, disposeTextOutput, type SiglipTextOutput } from './text.js';
export {
  siglipVisionFromFolder, siglip2VisionFromFolder, siglipTextFromFolder,
  loadSiglipVisionModel, loadSiglip2VisionModel, loadSiglipTextModel,
} from './load.js';
export { buildSiglip } from './build.js';
