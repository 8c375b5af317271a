/**
 * Perceptual distance from a frozen network's multi-layer features (docs/method.md, decoder losses), the LPIPS formula
 * with every linear head set to ones (LPIPS "baseline"): for each layer, unit-normalise each
 * token's (pixel's) feature vector over channels, take the squared difference, sum it over
 * channels, average over tokens; sum over layers. Per image this is Σ_l mean_t (2 − 2·cos θ_{l,t}).
 */
import { tf, type Tensor } from '../../runtime/tf.js';

/** Frozen feature network: images NHWC [0,1] → feature maps, each [B, T, C] tokens or [B, H, W, C]. */
export type FeatureExtractor = (images: Tensor) => Tensor[];

/**
 * LPIPS `normalize_tensor` over the last (channel) axis: x / √(‖x‖² + eps²) — equal to upstream's
 * x / (‖x‖ + eps) up to eps, but with a finite gradient at an all-zero vector (a dead-ReLU pixel),
 * where √ of exactly 0 would give 0·∞ = NaN.
 */
export function unitNormalize(f: Tensor, eps = 1e-10): Tensor {
  return tf.tidy(() => f.div(f.square().sum(-1, true).add(eps * eps).sqrt()));
}

/** Per-image distance [B] between two lists of same-shape features ([B, …, C] each). */
export function featureDistance(fa: Tensor[], fb: Tensor[]): Tensor {
  if (fa.length !== fb.length || fa.length === 0) throw new Error(`featureDistance: got ${fa.length} and ${fb.length} feature maps`);
  return tf.tidy(() => {
    const per = fa.map((a, i) => {
      const b = fb[i];
      if (a.shape.join() !== b.shape.join()) throw new Error(`featureDistance: layer ${i} shapes differ: [${a.shape}] vs [${b.shape}]`);
      const d = unitNormalize(a).sub(unitNormalize(b)).square().sum(-1); // [B, …]
      return d.reshape([a.shape[0], -1]).mean(1); // spatial mean → [B]
    });
    return tf.addN(per);
  });
}

/** Perceptual loss: batch mean of `featureDistance(net(x̂), net(x))` → scalar (the target branch carries no gradient of interest). */
export function perceptualLoss(net: FeatureExtractor, xhat: Tensor, x: Tensor): tf.Scalar {
  return tf.tidy(() => {
    const fa = net(xhat), fb = net(x);
    try {
      return featureDistance(fa, fb).mean() as tf.Scalar;
    } finally {
      // extractors may hand back kept tensors (encoders tf.keep their hidden states)
      for (const t of [...fa, ...fb]) t.dispose();
    }
  });
}
