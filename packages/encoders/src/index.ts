/**
 * @raev2/encoders: the Encoder implementations, the encoder spec grammar and the built-in registry
 * entries (registered on import), and the `raev2 features` command.
 */
import { registerCommand } from '@raev2/core';
import './builtin.js';
import { featuresCommand } from './cli/features.js';

registerCommand(featuresCommand);

export { registerEncoder, createEncoder, listEncoders, type EncoderFactory, type SpecOptions } from '@raev2/core';
export * from './spec.js';
export { HF_ENCODERS } from './builtin.js';
export * from './cnn/index.js';
export * from './onnx/index.js';
export { featuresCommand, extractFeatures, listImages, type FeatureOptions } from './cli/features.js';
export * from './siglip/index.js';
export * from './siglip2/index.js';
export * from './text/index.js';
export * from './hf/index.js';
export * from './vit/index.js';
export * from './preprocess/index.js';
export * from './dinov2/index.js';
export * from './dinov3/index.js';
export * from './vit_mae/index.js';
export * from './clip/index.js';
import { stage1TrainCommand, stage1EvalCommand, stage1StatsCommand } from './cli/stage1.js';
registerCommand(stage1TrainCommand);
registerCommand(stage1EvalCommand);
registerCommand(stage1StatsCommand);
export * from './cli/stage1.js';
import { stage2TrainCommand } from './cli/stage2.js';
import { sampleCommand } from './cli/sample.js';
registerCommand(stage2TrainCommand);
registerCommand(sampleCommand);
export * from './cli/stage2.js';
export * from './cli/sample.js';
import { demoCommand, demoExportCommand } from './cli/demo.js';
registerCommand(demoCommand);
registerCommand(demoExportCommand);
export { demoCommand, demoExportCommand, demoTrainingCommand } from './cli/demo.js';
export * from './demo/index.js';
