import type { Command } from '@raev2/core';
import { renderCommand } from './render.js';
import { trainCommand } from './train.js';
import { evalCommand } from './eval.js';
import { rolloutCommand } from './rollout.js';
import { planCommand } from './plan.js';
import { prepareCommand } from './prepare.js';
import { exportCommand } from './export.js';

/** Every `raev2 navworld …` command (the cli package registers them). */
export const navworldCommands: Command[] = [renderCommand, prepareCommand, trainCommand, rolloutCommand, planCommand, evalCommand, exportCommand];
