/**
 * Float64 dense symmetric linear algebra for the Fréchet distance: Householder tridiagonalisation +
 * implicit QL (EISPACK tred2/tql2 in the JAMA formulation), the PSD square root built on it, and a
 * pivoted Cholesky for PSD (possibly rank-deficient) matrices. Matrices are row-major Float64Array n×n.
 */

/** Eigen-decomposition of a symmetric matrix: ascending eigenvalues, and eigenvectors as the rows of `vectors` when asked. */
export interface SymEig {
  values: Float64Array;
  /** Row i is the unit eigenvector of values[i] (n×n, row-major). */
  vectors?: Float64Array;
}

/**
 * Reduce symmetric `a` (n×n; only its lower triangle is read; overwritten) to tridiagonal form
 * T = Qᵀ A Q. Returns diag d, off-diagonal e (e[i] = T[i, i+1], e[n−1] = 0) and, when asked, Qᵀ.
 * Step k reflects with H = I − βvvᵀ: B ← B − v qᵀ − q vᵀ, q = p − (βvᵀp/2)v, p = βBv. Step k's
 * rank-2 update is applied lazily inside step k+1's matrix–vector pass, so each step reads and
 * writes the lower triangle once (the loop is memory-bound in JS).
 */
export function tridiagonalize(a: Float64Array, n: number, wantQ: boolean): { d: Float64Array; e: Float64Array; qt?: Float64Array } {
  const d = new Float64Array(n), e = new Float64Array(n);
  const vs: Float64Array[] = [], betas: number[] = [];
  const p = new Float64Array(n);
  // pending update from the previous step on the block starting at index `ps` (vectors indexed from ps)
  let pv: Float64Array | null = null, pq: Float64Array | null = null, ps = 0;
  const pending = (i: number, j: number): number => (pv ? pv[i - ps] * pq![j - ps] + pq![i - ps] * pv[j - ps] : 0);
  for (let k = 0; k < n - 2; k++) {
    const s0 = k + 1, m = n - k - 1;
    // column k (rows k…n−1) with the pending update applied
    d[k] = a[k * n + k] -= pending(k, k);
    const x = new Float64Array(m);
    let norm2 = 0;
    for (let i = 0; i < m; i++) {
      x[i] = a[(s0 + i) * n + k] -= pending(s0 + i, k);
      norm2 += x[i] * x[i];
    }
    const x0 = x[0];
    let v: Float64Array | null = null, beta = 0;
    if (norm2 - x0 * x0 > 0) {
      const alpha = x0 > 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
      v = x;
      const vtv = norm2 - x0 * x0 + (x0 - alpha) * (x0 - alpha);
      v[0] = x0 - alpha;
      beta = 2 / vtv;
      e[k] = alpha;
    } else e[k] = x0; // already reduced: H = I
    // one pass over the trailing block's lower triangle: apply the pending update, accumulate p = Bv
    p.fill(0, 0, m);
    const po = s0 - ps;
    for (let i = 0; i < m; i++) {
      const row = (s0 + i) * n + s0;
      const vi = v ? v[i] : 0;
      let acc = 0;
      if (pv && v) {
        const a1 = pv[po + i], a2 = pq![po + i], q = pq!;
        for (let j = 0; j < i; j++) {
          const b = (a[row + j] -= a1 * q[po + j] + a2 * pv[po + j]);
          acc += b * v[j];
          p[j] += b * vi;
        }
        acc += (a[row + i] -= a1 * q[po + i] + a2 * pv[po + i]) * vi;
      } else if (pv) {
        const a1 = pv[po + i], a2 = pq![po + i];
        for (let j = 0; j <= i; j++) a[row + j] -= a1 * pq![po + j] + a2 * pv[po + j];
      } else if (v) {
        for (let j = 0; j < i; j++) {
          const b = a[row + j];
          acc += b * v[j];
          p[j] += b * vi;
        }
        acc += a[row + i] * vi;
      }
      p[i] += acc;
    }
    if (v) {
      let vp = 0;
      for (let i = 0; i < m; i++) vp += v[i] * (p[i] *= beta);
      const kk = (beta * vp) / 2;
      const q = new Float64Array(m);
      for (let i = 0; i < m; i++) q[i] = p[i] - kk * v[i];
      pv = v;
      pq = q;
      ps = s0;
    } else pv = pq = null;
    if (wantQ) {
      vs.push(v ?? new Float64Array(0));
      betas.push(beta);
    }
  }
  if (n >= 2) {
    d[n - 2] = a[(n - 2) * n + n - 2] - pending(n - 2, n - 2);
    e[n - 2] = a[(n - 1) * n + n - 2] - pending(n - 1, n - 2);
  }
  if (n >= 1) d[n - 1] = a[(n - 1) * n + n - 1] - pending(n - 1, n - 1);
  if (!wantQ) return { d, e };
  // Q = H_0 H_1 … H_{n−3}: accumulate backwards (each H_k touches only the trailing block), then transpose
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  const w = new Float64Array(n);
  for (let k = vs.length - 1; k >= 0; k--) {
    const v = vs[k], beta = betas[k];
    if (v.length === 0) continue;
    const s0 = k + 1, m = v.length;
    w.fill(0, 0, m);
    for (let i = 0; i < m; i++) {
      const row = (s0 + i) * n + s0, vi = v[i];
      for (let j = 0; j < m; j++) w[j] += vi * q[row + j];
    }
    for (let i = 0; i < m; i++) {
      const row = (s0 + i) * n + s0, bvi = beta * v[i];
      for (let j = 0; j < m; j++) q[row + j] -= bvi * w[j];
    }
  }
  const qt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) qt[j * n + i] = q[i * n + j];
  return { d, e, qt };
}

/**
 * Implicit QL on the tridiagonal (d, e) in place (d ← eigenvalues, unsorted). When `zt` (n×n, rows)
 * is given, the same rotations are applied to its rows, turning Qᵀ into the eigenvector rows.
 */
export function tql(d: Float64Array, e: Float64Array, n: number, zt?: Float64Array): void {
  const eps = 2 ** -52;
  let f = 0, tst1 = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 100) throw new Error(`symmetric eigen-decomposition did not converge (eigenvalue ${l} of ${n})`);
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1, c2 = 1, c3 = 1, s = 0, s2 = 0;
        const el1 = e[l + 1];
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (zt) {
            const ri = i * n, rj = (i + 1) * n;
            for (let k = 0; k < n; k++) {
              const zh = zt[rj + k], zi = zt[ri + k];
              zt[rj + k] = s * zi + c * zh;
              zt[ri + k] = c * zi - s * zh;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}

/** Eigenvalues (ascending) and optionally eigenvectors of a symmetric n×n matrix (input not modified). */
export function symEig(a: ArrayLike<number>, n: number, opts: { vectors?: boolean } = {}): SymEig {
  if (a.length !== n * n) throw new Error(`symEig: expected ${n}×${n} = ${n * n} values, got ${a.length}`);
  const work = Float64Array.from(a);
  const { d, e, qt } = tridiagonalize(work, n, opts.vectors ?? false);
  tql(d, e, n, qt);
  const order = Array.from(d.keys()).sort((i, j) => d[i] - d[j]);
  const values = Float64Array.from(order, (i) => d[i]);
  if (!qt) return { values };
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => vectors.set(qt.subarray(src * n, (src + 1) * n), dst * n));
  return { values, vectors };
}

/** Principal square root of a symmetric PSD matrix (negative eigenvalues from rounding are clamped to 0). */
export function sqrtmPsd(a: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors } = symEig(a, n, { vectors: true });
  // S = Σ √λ_i v_i v_iᵀ = Wᵀ W with rows w_i = λ_i^{1/4} v_i
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const s = Math.sqrt(Math.sqrt(Math.max(values[i], 0)));
    for (let j = 0; j < n; j++) w[i * n + j] = s * vectors![i * n + j];
  }
  return gram(w, n, n);
}

/** WᵀW for W of r rows × n columns (row-major) → n×n. */
export function gram(w: Float64Array, r: number, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let k = 0; k < r; k++) {
    const row = k * n;
    for (let i = 0; i < n; i++) {
      const wi = w[row + i];
      if (wi === 0) continue;
      const o = i * n;
      for (let j = i; j < n; j++) out[o + j] += wi * w[row + j];
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) out[i * n + j] = out[j * n + i];
  return out;
}

/** Σ a[ao + i]·b[bo + i] for i < len (4-way unrolled: V8 does not vectorise). */
export function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, len: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, i = 0;
  for (; i + 3 < len; i += 4) {
    s0 += a[ao + i] * b[bo + i];
    s1 += a[ao + i + 1] * b[bo + i + 1];
    s2 += a[ao + i + 2] * b[bo + i + 2];
    s3 += a[ao + i + 3] * b[bo + i + 3];
  }
  for (; i < len; i++) s0 += a[ao + i] * b[bo + i];
  return s0 + s1 + s2 + s3;
}

/**
 * Four dots sharing one vector: out[t] = Σ_i a[ao + t·stride + i]·b[bo + i], t < 4. Streaming `b`
 * once for four rows of `a` cuts memory traffic 4× in the O(n³) loops.
 */
export function dot4(a: Float64Array, ao: number, stride: number, b: Float64Array, bo: number, len: number, out: Float64Array): void {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const a1 = ao + stride, a2 = a1 + stride, a3 = a2 + stride;
  for (let i = 0; i < len; i++) {
    const bi = b[bo + i];
    s0 += a[ao + i] * bi;
    s1 += a[a1 + i] * bi;
    s2 += a[a2 + i] * bi;
    s3 += a[a3 + i] * bi;
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

/**
 * Pivoted Cholesky of a symmetric PSD matrix (LAPACK dpstrf-style, right-looking with symmetric
 * swaps): P A Pᵀ ≈ L Lᵀ with L lower-triangular n×r, stopping at rank r when the largest remaining
 * pivot ≤ relTol·max diag. Returns Lᵀ as r rows of length n (`lt[k·n + i]` = L[i, k], 0 for i < k)
 * and the pivot order `perm` (row i of P A Pᵀ is row perm[i] of A).
 */
export function pivotedCholesky(a: ArrayLike<number>, n: number, relTol = n * 2 ** -52): { lt: Float64Array; rank: number; perm: Int32Array } {
  const w = Float64Array.from(a);
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, w[i * n + i]);
  const tol = relTol * maxDiag;
  const col = new Float64Array(n);
  let r = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (w[i * n + i] > w[p * n + p]) p = i;
    if (!(w[p * n + p] > tol)) break;
    if (p !== k) {
      // symmetric swap k ↔ p in lower-triangle storage (as LAPACK's dpstrf)
      let t: number;
      for (let j = 0; j < k; j++) { t = w[k * n + j]; w[k * n + j] = w[p * n + j]; w[p * n + j] = t; }
      t = w[k * n + k]; w[k * n + k] = w[p * n + p]; w[p * n + p] = t;
      for (let i = k + 1; i < p; i++) { t = w[i * n + k]; w[i * n + k] = w[p * n + i]; w[p * n + i] = t; }
      for (let i = p + 1; i < n; i++) { t = w[i * n + k]; w[i * n + k] = w[i * n + p]; w[i * n + p] = t; }
      t = perm[k];
      perm[k] = perm[p];
      perm[p] = t;
    }
    const lkk = Math.sqrt(w[k * n + k]);
    w[k * n + k] = lkk;
    for (let i = k + 1; i < n; i++) col[i] = w[i * n + k] /= lkk;
    // trailing update of the lower triangle: W[i, j] −= L[i, k]·L[j, k] for k < j ≤ i
    for (let i = k + 1; i < n; i++) {
      const li = col[i], row = i * n;
      if (li === 0) continue;
      for (let j = k + 1; j <= i; j++) w[row + j] -= li * col[j];
    }
    r = k + 1;
  }
  const lt = new Float64Array(r * n);
  for (let k = 0; k < r; k++) for (let i = k; i < n; i++) lt[k * n + i] = w[i * n + k];
  return { lt, rank: r, perm };
}
