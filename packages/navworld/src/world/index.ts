export * from './pose.js';
export * from './map.js';
export * from './textures.js';
export * from './posters.js';
export * from './raycast.js';
export * from './motion.js';
export * from "./dataset.js";
export * from "./render_set.js";
