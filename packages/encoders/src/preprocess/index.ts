/** HF image processors: config parsing, PIL / torchvision resampling, and the preprocessing pipelines. */
export {
  parseImageProcessor, resizedSize, centerCropOffset, processedSize, fixedOutputSize,
  IMAGENET_MEAN, IMAGENET_STD, CLIP_MEAN, CLIP_STD,
  type ImageProcessor, type ResizeRule, type ProcessorDefaults,
} from './processor.js';
export { PIL_RESAMPLE, pilResizeWeights, pilResizeUint8, resizeWeights, type ResampleFilter, type ResizeBackend } from './resample.js';
export { preprocessImages, preprocessUint8, type PreprocessOptions, type ImageU8 } from './pipeline.js';
