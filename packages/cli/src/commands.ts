/** Every `raev2` command, listed statically: core's stages, the encoders' features, the demos and the task packages' own commands. */
import type { Command } from '@raev2/core';
import { featuresCommand } from './commands/features.js';
import { stage1TrainCommand, stage1EvalCommand, stage1StatsCommand } from './commands/stage1.js';
import { stage2TrainCommand } from './commands/stage2.js';
import { sampleCommand } from './commands/sample.js';
import { demoCommand, demoExportCommand } from './commands/demo.js';
import { t2iCommands } from '@raev2/t2i';
import { navworldCommands } from '@raev2/navworld';

/** The commands in the order `raev2 --help` lists them. */
export function commands(): Command[] {
  return [featuresCommand, stage1TrainCommand, stage1EvalCommand, stage1StatsCommand, stage2TrainCommand, sampleCommand, demoCommand, demoExportCommand, ...t2iCommands, ...navworldCommands];
}
