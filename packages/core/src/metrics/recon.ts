/**
 * Stage-1 reconstruction metrics over a dataset pass (docs/method.md, decoder losses): mean PSNR, mean SSIM and rFD, the
 * Fréchet distance between a frozen encoder's pooled features of the originals and of the reconstructions.
 */
import { tf, type Tensor } from '../runtime/tf.js';
import { disposeOutput, encodeImages, type Encoder } from '../encoder.js';
import { psnr } from './psnr.js';
import { ssim } from './ssim.js';
import { FeatureStats, frechetDistanceOf } from './frechet.js';

/** Images NHWC [0,1] → the token-mean of block `layer`'s patch tokens (default: last block) [B, D]. */
export function pooledFeatures(encoder: Encoder, images: Tensor, layer = encoder.numLayers - 1): Tensor {
  const out = encodeImages(encoder, images);
  try {
    const h = out.hiddenStates[layer + 1];
    if (h == null) throw new Error(`pooledFeatures: ${encoder.name} has blocks 0…${encoder.numLayers - 1}, asked for ${layer}`);
    return tf.tidy(() => h.slice([0, out.prefixTokens, 0], [-1, -1, -1]).mean(1));
  } finally {
    disposeOutput(out);
  }
}

export interface ReconstructionSummary {
  count: number;
  /** Mean PSNR (dB) over images with a finite PSNR. */
  psnr: number;
  ssim: number;
  /** Present when a feature encoder was given and at least 2 images were seen. */
  rfd?: number;
}

/** Accumulates PSNR, SSIM and rFD batch by batch; reconstructions are clamped to [0, 1] as when written. */
export class ReconstructionMetrics {
  private n = 0;
  private finite = 0;
  private psnrSum = 0;
  private ssimSum = 0;
  private readonly real: FeatureStats | null;
  private readonly fake: FeatureStats | null;

  constructor(private readonly featureEncoder?: Encoder, private readonly layer?: number) {
    this.real = featureEncoder ? new FeatureStats(featureEncoder.hiddenSize) : null;
    this.fake = featureEncoder ? new FeatureStats(featureEncoder.hiddenSize) : null;
  }

  /** original, reconstruction: NHWC [B, H, W, 3] in [0, 1]. */
  update(original: Tensor, reconstruction: Tensor): void {
    const rec = tf.tidy(() => reconstruction.clipByValue(0, 1));
    try {
      for (const p of psnr(original, rec)) {
        if (Number.isFinite(p)) {
          this.psnrSum += p;
          this.finite++;
        }
      }
      for (const s of ssim(original, rec)) this.ssimSum += s;
      this.n += original.shape[0];
      if (this.featureEncoder) {
        for (const [img, acc] of [[original, this.real!], [rec, this.fake!]] as const) {
          const f = pooledFeatures(this.featureEncoder, img, this.layer);
          acc.update(f);
          f.dispose();
        }
      }
    } finally {
      rec.dispose();
    }
  }

  summary(): ReconstructionSummary {
    const s: ReconstructionSummary = { count: this.n, psnr: this.finite ? this.psnrSum / this.finite : Infinity, ssim: this.n ? this.ssimSum / this.n : NaN };
    if (this.real && this.real.count >= 2) s.rfd = frechetDistanceOf(this.real, this.fake!);
    return s;
  }
}
