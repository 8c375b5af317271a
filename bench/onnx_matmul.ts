/** A one-node ONNX model: Y = A · B for A [M, K], B [K, N] (both graph inputs). */
import { OnnxGraphBuilder } from '@raev2/core';

/** ModelProto bytes of `Y = MatMul(A, B)` with static shapes A [m, k], B [k, n]. */
export function buildMatMulModel(m: number, k: number, n: number): Uint8Array {
  const g = new OnnxGraphBuilder('matmul');
  const a = g.input('A', [m, k]);
  const b = g.input('B', [k, n]);
  g.output(g.node('MatMul', [a, b], {}, 'Y'), [m, n]);
  return g.build();
}
