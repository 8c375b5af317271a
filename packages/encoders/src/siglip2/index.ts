/** SigLIP-2 NaFlex vision tower (its text tower is `SiglipTextModel`), its image processor and the fixed-resolution tower. */
export { Siglip2VisionModel, Siglip2VisionTransformer, Siglip2VisionEmbeddings, maskFromShapes, type SpatialShapes } from './vision.js';
export { parseSiglip2Processor, naflexImageSize, preprocessNaflex, naflexFromTensor, disposeNaflexInputs, type Siglip2Processor, type NaflexInputs } from './processor.js';
export { Siglip2ImageTower, naflexPatchRows } from './tower.js';
export { buildSiglip2 } from './build.js';
