export * from './optim/optimizer.js';
export * from './optim/adamw.js';
export * from './optim/muon.js';
export * from './ema.js';
export * from './schedule.js';
export * from './clip.js';
export * from './grads.js';
export * from './loop.js';
