/** The offline text tower: corpus tokenizer, SigLIP-2-architecture tower, sigmoid-loss locked-image training, retrieval, HF export. */
export { SPECIAL_TOKENS, splitWords, buildVocab, writeWordTokenizer } from './tokenizer_build.js';
export { TowerShapeSchema, towerConfigJson, createTextTower, LockedImageHead, type TowerShape } from './tower.js';
export { sigmoidLoss, l2Normalize } from './sigmoid_loss.js';
export { retrievalTop1, type Retrieval } from './retrieval.js';
export { trainTextTower, tokenTable, type TowerTrainOptions, type TowerTrainData } from './train.js';
export { encodeRawLatents, pooledFeatures, type LatentFeatures } from './image_features.js';
export { saveTextTower, IMAGE_HEAD_FILE } from './save.js';
export { tokenIdentityLoss } from './token_identity.js';
export { siblingRetrieval, SIBLING_TESTS, type SiblingRetrieval } from './siblings.js';
