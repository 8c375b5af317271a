import type { Command } from '@raev2/core';
import { renderCommand } from './render.js';

/** Every `raev2 navworld …` command (the cli package registers them). */
export const navworldCommands: Command[] = [renderCommand];
