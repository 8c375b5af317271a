export { tf, type Tensor, type Variable } from './tf.js';
export { initRuntime, currentBackend, BACKEND_NAMES, type BackendChoice, type RuntimeOptions } from './backend.js';
export { Rng } from './rng.js';
export { applyWasmFixes } from './wasm_fixes.js';
export { setWasmBackend, resolveWasmThreads, wasmThreadsInUse, MAX_WASM_THREADS } from './wasm_threads.js';
export { registerCpuFallback, runKernelOnCpu } from './cpu_fallback.js';
export { registerGradKernels } from './wasm_grad_kernels.js';
export { registerOrtMatMul, ortMatMulEnabled, setOrtMatMul, matMulGeometry, DEFAULT_ORT_MATMUL_MIN_FLOPS } from './ort_matmul.js';
