export * from './dataset.js';
export * from './folder.js';
export * from './manifest.js';
export * from './emoji.js';
export * from './loader.js';
