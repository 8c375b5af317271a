/** adaLN helpers: modulate(x, shift, scale) = x·(1 + scale) + shift, and gating, for per-sample or per-token conditions. */
import { tf, type Tensor } from '../runtime/tf.js';

/** [B, D] → [B, 1, D] so a per-sample condition broadcasts over tokens; [B, N, D] is returned as is. */
export function perToken(c: Tensor): Tensor {
  return c.rank === 2 ? c.expandDims(1) : c;
}

/** x·(1 + scale) + shift. x: [B, N, D]; shift/scale: [B, D] (per sample) or [B, N, D] (per token). */
export function modulate(x: Tensor, shift: Tensor | null, scale: Tensor): Tensor {
  return tf.tidy(() => {
    const y = x.mul(perToken(scale).add(1));
    return shift == null ? y : y.add(perToken(shift));
  });
}

/** x·gate. x: [B, N, D]; gate: [B, D] or [B, N, D]. */
export function gate(x: Tensor, g: Tensor): Tensor {
  return tf.tidy(() => x.mul(perToken(g)));
}
