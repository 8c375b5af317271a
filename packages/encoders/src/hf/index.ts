/** HF model folders: resolution (local path, HF cache, Hub), config/weights loading, family dispatch and the encoder loader. */
export { loadHFEncoder, loadHFModel, isVisionModel, type HFEncoderOptions, type LoadedHFModel } from './load.js';
export { families } from './families.js';
export { buildFromConfig, type BuiltModel, type FamilyBuilder, type FamilyContext, type HFModel, type LoadHFOptions } from './build.js';
export { resolveModelFolder, openModelFolder, loadModelFolder, type HFFolder } from './folder.js';
export { resolveHubModel, findInPythonCache, pythonHubCache, transformersCacheFolder, isHubId, isOffline, type HubOptions } from './hub.js';
export { loadWeights, listWeights, type KeyMapping } from './weights.js';
export { baseConfigFields, headsDivide, hiddenAct, positiveInt, positiveNumber, unsupported } from './schema.js';
