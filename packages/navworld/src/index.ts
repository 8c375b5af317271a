export * from './world/index.js';
export * from './actions.js';
export * from './data/nwm_layout.js';
export { navworldCommands } from './commands/index.js';
