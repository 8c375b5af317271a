export * from './path.js';
export * from './time.js';
export * from './loss.js';
export * from './dropout.js';
export * from './transport.js';
