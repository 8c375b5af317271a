/**
 * @raev2/cli: the application — every `raev2` command (flags → library calls), the run orchestration
 * of stage 1 and stage 2 (encoders built from spec strings, runs resolved and resumed), the demos
 * and their shipped checkpoints.
 */
export { commands } from './commands.js';
export { main } from './main.js';
export * from './runs/stage1.js';
export * from './runs/stage2.js';
export * from './commands/features.js';
export * from './commands/stage1.js';
export * from './commands/stage2.js';
export * from './commands/sample.js';
export { demoCommand, demoExportCommand, demoTrainingCommand } from './commands/demo.js';
export * from './demo/index.js';
