/** Float64 reference implementations written from the formulas, independent of the tfjs code under test. */

/** erf to ~1e-14: Maclaurin series for |x| < 3, Lentz continued fraction for erfc beyond. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x, sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …))))
  let f = ax, c = ax, d = 0;
  for (let n = 1; n < 200; n++) {
    const a = n / 2;
    d = 1 / (ax + a * d);
    c = ax + a / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
export const act64: Record<string, (x: number) => number> = {
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  gelu_pytorch_tanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  quick_gelu: (x) => x * sigmoid(1.702 * x),
  silu: (x) => x * sigmoid(x),
  relu: (x) => Math.max(x, 0),
};

/** y[r, o] = Σ_i x[r, i]·W[o, i] + b[o] for x [R, in], W [out, in]. */
export function linear64(x: Float64Array, w: Float64Array, b: Float64Array | null, inF: number, outF: number): Float64Array {
  const rows = x.length / inF;
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
      y[r * outF + o] = s;
    }
  }
  return y;
}

/** Per row of length d: (x − μ)/√(σ² + eps)·w + b (biased variance). */
export function layerNorm64(x: Float64Array, d: number, eps: number, w?: Float64Array, b?: Float64Array): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / d; r++) {
    let mu = 0;
    for (let i = 0; i < d; i++) mu += x[r * d + i];
    mu /= d;
    let v = 0;
    for (let i = 0; i < d; i++) v += (x[r * d + i] - mu) ** 2;
    v /= d;
    for (let i = 0; i < d; i++) y[r * d + i] = ((x[r * d + i] - mu) / Math.sqrt(v + eps)) * (w ? w[i] : 1) + (b ? b[i] : 0);
  }
  return y;
}

/** Per row: x / √(mean(x²) + eps)·w. */
export function rmsNorm64(x: Float64Array, d: number, eps: number, w?: Float64Array): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / d; r++) {
    let ms = 0;
    for (let i = 0; i < d; i++) ms += x[r * d + i] ** 2;
    ms /= d;
    for (let i = 0; i < d; i++) y[r * d + i] = (x[r * d + i] / Math.sqrt(ms + eps)) * (w ? w[i] : 1);
  }
  return y;
}

/**
 * softmax(q·kᵀ·scale + mask)·v for q [BH, Nq, D], k, v [BH, Nk, D]; mask(bh, i, j) additive.
 */
export function attention64(q: Float64Array, k: Float64Array, v: Float64Array, bh: number, nq: number, nk: number, d: number,
  scale: number, mask?: (h: number, i: number, j: number) => number): Float64Array {
  const out = new Float64Array(bh * nq * d);
  const logits = new Float64Array(nk);
  for (let h = 0; h < bh; h++) {
    for (let i = 0; i < nq; i++) {
      let mx = -Infinity;
      for (let j = 0; j < nk; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += q[(h * nq + i) * d + c] * k[(h * nk + j) * d + c];
        logits[j] = s * scale + (mask ? mask(h, i, j) : 0);
        mx = Math.max(mx, logits[j]);
      }
      let z = 0;
      for (let j = 0; j < nk; j++) { logits[j] = Math.exp(logits[j] - mx); z += logits[j]; }
      for (let j = 0; j < nk; j++) {
        const p = logits[j] / z;
        for (let c = 0; c < d; c++) out[(h * nq + i) * d + c] += p * v[(h * nk + j) * d + c];
      }
    }
  }
  return out;
}
