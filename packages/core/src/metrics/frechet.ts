/**
 * Fréchet distance between Gaussians fitted to two feature sets (FID / rFD / FD_r, docs/method.md):
 *   FD = |μ1 − μ2|² + tr(S1) + tr(S2) − 2·tr √(S1^{1/2} S2 S1^{1/2}),
 * with mean and covariance accumulated in float64 (batched co-moment merges) and the trace of the
 * square root from a symmetric eigen-decomposition in float64.
 */
import { tf, type Tensor } from '../runtime/tf.js';
import { dot, dot4, pivotedCholesky, sqrtmPsd, symEig } from './linalg.js';

/** A Gaussian over d-dim features: mean [d] and covariance [d×d] (row-major). */
export interface FeatureGaussian {
  dim: number;
  count: number;
  mean: Float64Array;
  cov: Float64Array;
}

/** Running mean and covariance of feature vectors, accumulated batch by batch in float64. */
export class FeatureStats {
  count = 0;
  readonly mean: Float64Array;
  /** Upper triangle of Σ (x − μ)(x − μ)ᵀ. */
  private readonly comoment: Float64Array;

  constructor(readonly dim: number) {
    this.mean = new Float64Array(dim);
    this.comoment = new Float64Array(dim * dim);
  }

  /** Add features [B, d] (tensor, or flat rows). */
  update(features: Tensor | ArrayLike<number>): this {
    const d = this.dim;
    let x: ArrayLike<number>;
    if (features instanceof tf.Tensor) {
      if (features.rank !== 2 || features.shape[1] !== d) throw new Error(`FeatureStats: features [${features.shape}] are not [B, ${d}]`);
      x = features.dataSync();
    } else x = features;
    if (x.length % d !== 0) throw new Error(`FeatureStats: ${x.length} values are not whole ${d}-dim rows`);
    const nb = x.length / d;
    if (nb === 0) return this;
    const bm = new Float64Array(d);
    for (let s = 0; s < nb; s++) for (let i = 0; i < d; i++) bm[i] += x[s * d + i];
    for (let i = 0; i < d; i++) bm[i] /= nb;
    // merge (Chan et al.): C += C_batch + δδᵀ·na·nb/n, then μ += δ·nb/n
    const na = this.count, n = na + nb, w = (na * nb) / n;
    const delta = new Float64Array(d);
    for (let i = 0; i < d; i++) delta[i] = bm[i] - this.mean[i];
    // batch co-moment C_b = Xcᵀ Xc from the centred batch stored feature-major (d × nb), four features at a time
    const c = this.comoment, xt = new Float64Array(d * nb), t4 = new Float64Array(4);
    for (let s = 0; s < nb; s++) for (let i = 0; i < d; i++) xt[i * nb + s] = x[s * d + i] - bm[i];
    let i = 0;
    for (; i + 3 < d; i += 4) {
      for (let j = i; j < d; j++) {
        dot4(xt, i * nb, nb, xt, j * nb, nb, t4);
        for (let t = 0; t < 4; t++) if (j >= i + t) c[(i + t) * d + j] += t4[t];
      }
    }
    for (; i < d; i++) for (let j = i; j < d; j++) c[i * d + j] += dot(xt, i * nb, xt, j * nb, nb);
    if (na > 0) addOuterUpper(c, delta, delta, w, d);
    for (let i = 0; i < d; i++) this.mean[i] += (delta[i] * nb) / n;
    this.count = n;
    return this;
  }

  /** Merge another accumulator of the same width. */
  merge(other: FeatureStats): this {
    if (other.dim !== this.dim) throw new Error(`FeatureStats: cannot merge dims ${this.dim} and ${other.dim}`);
    if (other.count === 0) return this;
    const d = this.dim, na = this.count, nb = other.count, n = na + nb;
    const delta = new Float64Array(d);
    for (let i = 0; i < d; i++) delta[i] = other.mean[i] - this.mean[i];
    for (let i = 0; i < d * d; i++) this.comoment[i] += other.comoment[i];
    addOuterUpper(this.comoment, delta, delta, (na * nb) / n, d);
    for (let i = 0; i < d; i++) this.mean[i] += (delta[i] * nb) / n;
    this.count = n;
    return this;
  }

  /** Unbiased covariance (÷ (n − 1), as numpy.cov in pytorch-fid), full d×d. */
  covariance(): Float64Array {
    if (this.count < 2) throw new Error(`FeatureStats: need at least 2 samples for a covariance, have ${this.count}`);
    const d = this.dim, out = new Float64Array(d * d), s = 1 / (this.count - 1);
    for (let i = 0; i < d; i++) for (let j = i; j < d; j++) out[i * d + j] = out[j * d + i] = this.comoment[i * d + j] * s;
    return out;
  }

  gaussian(): FeatureGaussian {
    return { dim: this.dim, count: this.count, mean: Float64Array.from(this.mean), cov: this.covariance() };
  }
}

function addOuterUpper(c: Float64Array, a: Float64Array, b: Float64Array, w: number, d: number): void {
  for (let i = 0; i < d; i++) {
    const ai = a[i] * w;
    if (ai === 0) continue;
    const o = i * d;
    for (let j = i; j < d; j++) c[o + j] += ai * b[j];
  }
}

/**
 * tr √(S1^{1/2} S2 S1^{1/2}). 'cholesky' (default): with S1 = L Lᵀ (pivoted, so rank-deficient S1
 * works) the eigenvalues of Lᵀ S2 L equal those of S1^{1/2} S2 S1^{1/2} (both are the nonzero
 * spectrum of S2 S1), so only eigenvalues are needed. 'sqrtm': the literal formula with two
 * eigen-decompositions (slower; kept as a cross-check).
 */
export function traceSqrtProduct(s1: Float64Array, s2: Float64Array, d: number, method: 'cholesky' | 'sqrtm' = 'cholesky'): number {
  let inner: Float64Array, r: number;
  if (method === 'sqrtm') {
    const h = sqrtmPsd(s1, d);
    inner = matmul(matmul(h, s2, d, d, d), h, d, d, d);
    r = d;
  } else {
    const { lt, rank, perm } = pivotedCholesky(s1, d);
    r = rank;
    // S2 in the pivot order, so L is lower-triangular and every product below is a contiguous dot
    const s2p = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) s2p[i * d + j] = s2[perm[i] * d + perm[j]];
    // M = Lᵀ S2 (r×d): M[k, j] = Σ_{i≥k} L[i, k]·S2[j, i], four rows k at a time
    const m = new Float64Array(r * d), t4 = new Float64Array(4);
    let k = 0;
    for (; k + 3 < r; k += 4) {
      for (let j = 0; j < d; j++) {
        dot4(lt, k * d + k, d, s2p, j * d + k, d - k, t4);
        for (let t = 0; t < 4; t++) m[(k + t) * d + j] = t4[t];
      }
    }
    for (; k < r; k++) for (let j = 0; j < d; j++) m[k * d + j] = dot(lt, k * d + k, s2p, j * d + k, d - k);
    // A = M L (r×r, symmetric): A[k, l] = Σ_{i≥l} M[k, i]·L[i, l]
    inner = new Float64Array(r * r);
    for (let l = 0; l < r; l++) {
      let k = 0;
      for (; k + 3 <= l; k += 4) {
        dot4(m, k * d + l, d, lt, l * d + l, d - l, t4);
        for (let t = 0; t < 4; t++) inner[(k + t) * r + l] = inner[l * r + k + t] = t4[t];
      }
      for (; k <= l; k++) inner[k * r + l] = inner[l * r + k] = dot(m, k * d + l, lt, l * d + l, d - l);
    }
  }
  const { values } = symEig(inner, r);
  let t = 0;
  for (const v of values) t += Math.sqrt(Math.max(v, 0));
  return t;
}

/** Fréchet distance between two Gaussians (same dim). */
export function frechetDistance(a: Pick<FeatureGaussian, 'dim' | 'mean' | 'cov'>, b: Pick<FeatureGaussian, 'dim' | 'mean' | 'cov'>, opts: { method?: 'cholesky' | 'sqrtm' } = {}): number {
  const d = a.dim;
  if (b.dim !== d) throw new Error(`Fréchet distance: feature dims differ (${a.dim} vs ${b.dim})`);
  let diff2 = 0, tr = 0;
  for (let i = 0; i < d; i++) {
    diff2 += (a.mean[i] - b.mean[i]) ** 2;
    tr += a.cov[i * d + i] + b.cov[i * d + i];
  }
  return diff2 + tr - 2 * traceSqrtProduct(a.cov, b.cov, d, opts.method);
}

/** Fréchet distance between two accumulated feature sets. */
export function frechetDistanceOf(a: FeatureStats, b: FeatureStats, opts: { method?: 'cholesky' | 'sqrtm' } = {}): number {
  return frechetDistance(a.gaussian(), b.gaussian(), opts);
}

/** C = A·B for A n×k and B k×m (row-major float64). */
export function matmul(a: Float64Array, b: Float64Array, n: number, k: number, m: number): Float64Array {
  const c = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const ci = i * m;
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p];
      if (aip === 0) continue;
      const bp = p * m;
      for (let j = 0; j < m; j++) c[ci + j] += aip * b[bp + j];
    }
  }
  return c;
}
