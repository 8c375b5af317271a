/**
 * Bilinear resize of a token grid as one fixed matrix product, so it has gradients on every backend
 * (tfjs wasm has no ResizeBilinearGrad). Matches PyTorch `F.interpolate(mode='bilinear',
 * align_corners=False)` without antialias, which RAE's decoder uses when the latent token count
 * differs from its own (`interpolate_latent`).
 */
import { tf, type Tensor } from '../runtime/tf.js';

/** 1-D weights [out, in]: source coordinate (i + 0.5)·in/out − 0.5, clamped at 0, neighbours clamped at the edge. */
export function bilinearWeights1d(inSize: number, outSize: number): Float64Array {
  const w = new Float64Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const src = Math.max((i + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const l1 = src - i0;
    w[i * inSize + i0] += 1 - l1;
    w[i * inSize + i1] += l1;
  }
  return w;
}

/** The 2-D resize matrix [H·W, h·w] (row-major grids): the Kronecker product of the 1-D row and column weights. */
export function bilinearMatrix(from: [number, number], to: [number, number]): Float32Array {
  const [h, w] = from, [H, W] = to;
  const r = bilinearWeights1d(h, H), c = bilinearWeights1d(w, W);
  const m = new Float32Array(H * W * h * w);
  for (let I = 0; I < H; I++) for (let J = 0; J < W; J++) {
    const row = (I * W + J) * h * w;
    for (let i = 0; i < h; i++) {
      const ri = r[I * h + i];
      if (ri === 0) continue;
      for (let j = 0; j < w; j++) m[row + i * w + j] = ri * c[J * w + j];
    }
  }
  return m;
}

/** Tokens [B, h·w, D] on grid `from` → [B, H·W, D] on grid `to`. */
export function bilinearResizeTokens(x: Tensor, from: [number, number], to: [number, number]): Tensor {
  const [b, n, d] = x.shape;
  if (n !== from[0] * from[1]) throw new Error(`resize: ${n} tokens do not form a ${from[0]}×${from[1]} grid`);
  return tf.tidy(() => {
    const m = tf.tensor2d(bilinearMatrix(from, to), [to[0] * to[1], n]);
    // fold the batch into the columns so it is one plain matmul: [HW, hw] · [hw, B·D]
    const cols = x.transpose([1, 0, 2]).reshape([n, b * d]);
    return tf.matMul(m, cols).reshape([to[0] * to[1], b, d]).transpose([1, 0, 2]);
  });
}
