/** SigLIP-2 NaFlex vision tower (its text tower is `SiglipTextModel`). */
export { Siglip2VisionModel, Siglip2VisionTransformer, Siglip2VisionEmbeddings, maskFromShapes, type SpatialShapes } from './vision.js';
