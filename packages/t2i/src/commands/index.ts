/** The `raev2 t2i …` commands (registered by @raev2/cli). */
import type { Command } from '@raev2/core';
import { towerTrainCommand } from './tower.js';
import { t2iTrainCommand } from './train.js';
import { t2iGenerateCommand } from './generate.js';
import { t2iEvalCommand } from './eval.js';

export const t2iCommands: Command[] = [towerTrainCommand, t2iTrainCommand, t2iGenerateCommand, t2iEvalCommand];
export { parseT2ITrainArgs } from './train.js';
export { readPrompts } from './generate.js';
