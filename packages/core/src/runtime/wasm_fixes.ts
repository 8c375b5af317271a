/**
 * Kernel fixes for the tfjs wasm backend (measured on this machine, see DESIGN.md):
 * BatchMatMul with a transpose flag runs 10–25× slower than plain, so transposes are made
 * explicit with the (fast) Transpose kernel before calling the plain BatchMatMul.
 */
import { tf } from './tf.js';

type KernelFunc = (params: { inputs: Record<string, unknown>; backend: unknown; attrs?: Record<string, unknown> }) => unknown;
interface TensorInfo { dataId: object; shape: number[]; dtype: string }

let applied = false;

/** Re-register wasm's BatchMatMul so that transposeA/transposeB become explicit transposes. */
export function applyWasmFixes(): void {
  if (applied) return;
  const bmm = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (bmm == null || transpose == null) return;
  const bmmFunc = bmm.kernelFunc as unknown as KernelFunc;
  const transposeFunc = transpose.kernelFunc as unknown as KernelFunc;
  const swapLast = (backend: unknown, x: TensorInfo): TensorInfo => {
    const r = x.shape.length;
    const perm = [...Array(r).keys()];
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return transposeFunc({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
  };
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    setupFunc: bmm.setupFunc,
    disposeFunc: bmm.disposeFunc,
    kernelFunc: (({ inputs, backend, attrs }: { inputs: { a: TensorInfo; b: TensorInfo }; backend: { disposeData(id: object): void }; attrs: { transposeA: boolean; transposeB: boolean } }) => {
      const { transposeA, transposeB } = attrs;
      if (!transposeA && !transposeB) return bmmFunc({ inputs, backend, attrs });
      const a = transposeA ? swapLast(backend, inputs.a) : inputs.a;
      const b = transposeB ? swapLast(backend, inputs.b) : inputs.b;
      const out = bmmFunc({ inputs: { a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
      if (transposeA) backend.disposeData(a.dataId);
      if (transposeB) backend.disposeData(b.dataId);
      return out;
    }) as unknown as tf.KernelFunc,
  });
  applied = true;
}
