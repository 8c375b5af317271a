export { symEig, sqrtmPsd, pivotedCholesky, type SymEig } from './linalg.js';
export * from './frechet.js';
export * from './psnr.js';
export * from './ssim.js';
export * from './recon.js';
