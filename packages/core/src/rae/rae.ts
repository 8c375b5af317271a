/**
 * The representation autoencoder (docs/method.md, stage 1): a frozen encoder's multi-layer latent,
 * optional noise augmentation (training), latent standardisation, and the ViT pixel decoder.
 *   encode: images NHWC [0,1] → rawLatent (latent.ts) → (+σε) → standardise → [B, N, C]
 *   decode: [B, N, C] → destandardise → decoder → unpatchify → ·std + mean → images NHWC (≈[0,1], unclamped)
 */
import { tf, type Tensor } from '../runtime/tf.js';
import { Rng } from '../runtime/rng.js';
import type { Encoder } from '../encoder.js';
import { rawLatent, rawLatentWithGrid, validateSelection, type LayerSelection } from './latent.js';
import { GeneralDecoder, decoderConfig, type DecoderConfigInput, type DecoderPreset } from './decoder.js';
import { destandardize, disposeStats, standardize, type LatentStats } from './stats.js';
import { NOISE_TAU, noiseAugment } from './noise.js';

/** Build a decoder from a preset, sized from a probe of the encoder. */
export interface DecoderSpec {
  preset: DecoderPreset;
  /** Decoder patch size; default the encoder's, so the output matches the encoder's input size. */
  patchSize?: number;
  overrides?: Partial<DecoderConfigInput>;
  rng?: Rng;
}

export interface RAEOptions {
  encoder: Encoder;
  selection: LayerSelection;
  decoder: GeneralDecoder | DecoderSpec;
  /** Latent statistics [N, C]; without them encode/decode skip standardisation. Owned by the RAE from here on. */
  stats?: LatentStats | null;
  /** Noise-augmentation scale τ (training only); default 0.8. */
  noiseTau?: number;
  /** Randomness of the noise augmentation. */
  rng?: Rng;
}

export interface EncodeOptions {
  /** Add noise augmentation (default: the RAE's `training` flag). */
  noise?: boolean;
}

export class RAE {
  readonly encoder: Encoder;
  readonly selection: LayerSelection;
  readonly decoder: GeneralDecoder;
  readonly noiseTau: number;
  readonly rng: Rng;
  /** Latent token grid of the encoder at its default input size. */
  readonly grid: [number, number];
  /** Latent channels C. */
  readonly channels: number;
  /** Training mode: noise augmentation on by default in encode. */
  training = false;
  private _stats: LatentStats | null;

  constructor(opts: Required<Omit<RAEOptions, 'decoder'>> & { decoder: GeneralDecoder; grid: [number, number]; channels: number }) {
    this.encoder = opts.encoder;
    this.selection = opts.selection;
    this.decoder = opts.decoder;
    this.noiseTau = opts.noiseTau;
    this.rng = opts.rng;
    this.grid = opts.grid;
    this.channels = opts.channels;
    this._stats = opts.stats;
    if (this.decoder.config.hidden_size !== this.channels) {
      throw new Error(`decoder expects ${this.decoder.config.hidden_size} latent channels but the encoder's latent has ${this.channels}`);
    }
  }

  get stats(): LatentStats | null {
    return this._stats;
  }

  /** Replace the latent statistics (the old ones are disposed; the RAE owns the new ones). */
  setStats(stats: LatentStats | null): void {
    if (this._stats && this._stats !== stats) disposeStats(this._stats);
    this._stats = stats;
  }

  /** Tokens per image N = rows · cols. */
  get numTokens(): number {
    return this.grid[0] * this.grid[1];
  }

  /** Output image size of decode [H, W]. */
  get imageSize(): [number, number] {
    return this.decoder.imageSize;
  }

  /** images NHWC [0,1] → the raw multi-layer latent [B, N, C] (no noise, not standardised). */
  encodeRaw(images: Tensor): Tensor {
    return rawLatent(this.encoder, this.selection, images);
  }

  /** images NHWC [0,1] → latent [B, N, C]: raw latent, noise-augmented when training, standardised when stats are set. */
  encode(images: Tensor, opts: EncodeOptions = {}): Tensor {
    const raw = this.encodeRaw(images);
    let z = raw;
    if ((opts.noise ?? this.training) && this.noiseTau > 0) {
      z = noiseAugment(raw, this.noiseTau, this.rng);
      raw.dispose();
    }
    if (!this._stats) return z;
    const s = standardize(z, this._stats);
    z.dispose();
    return s;
  }

  /** latent [B, N, C] → the decoder's image NHWC in the encoder's normalised pixel space. */
  decodeNormalized(latent: Tensor): Tensor {
    return tf.tidy(() => {
      const z = this._stats ? destandardize(latent, this._stats) : latent;
      return this.decoder.decode(z, { latentGrid: this.grid });
    });
  }

  /** latent [B, N, C] → images NHWC [B, H, W, 3] in [0,1] space (not clamped). */
  decode(latent: Tensor): Tensor {
    return tf.tidy(() => this.denormalize(this.decodeNormalized(latent)));
  }

  /** decode(encode(images)) without noise. */
  reconstruct(images: Tensor): Tensor {
    return tf.tidy(() => this.decode(this.encode(images, { noise: false })));
  }

  /** [0,1] images → the encoder's normalised pixel space ((x − mean)/std), NHWC. */
  normalize(images: Tensor): Tensor {
    return tf.tidy(() => images.sub(tf.tensor1d(this.encoder.imageMean)).div(tf.tensor1d(this.encoder.imageStd)));
  }

  /** Normalised pixel space → [0,1] space (x·std + mean), NHWC. */
  denormalize(x: Tensor): Tensor {
    return tf.tidy(() => x.mul(tf.tensor1d(this.encoder.imageStd)).add(tf.tensor1d(this.encoder.imageMean)));
  }

  /** Release the decoder and statistics (the encoder belongs to the caller). */
  dispose(): void {
    this.decoder.dispose();
    this.setStats(null);
  }
}

/** Run the encoder once on a blank image to learn the latent grid and width for a layer selection. */
export function probeLatent(encoder: Encoder, selection: LayerSelection): { grid: [number, number]; channels: number } {
  validateSelection(selection, encoder.numLayers);
  const [h, w] = encoder.imageSize;
  const img = tf.fill([1, h, w, 3], 0.5);
  let probe: { latent: Tensor; grid: [number, number] };
  try {
    probe = rawLatentWithGrid(encoder, selection, img);
  } finally {
    img.dispose();
  }
  const [, n, c] = probe.latent.shape;
  probe.latent.dispose();
  if (n !== probe.grid[0] * probe.grid[1]) throw new Error(`encoder ${encoder.name}: latent has ${n} tokens but its grid is ${probe.grid.join('×')}`);
  return { grid: probe.grid, channels: c };
}

/** Assemble an RAE; a decoder spec builds a fresh decoder whose output size is grid·patch. */
export function createRAE(opts: RAEOptions): RAE {
  const { grid, channels } = probeLatent(opts.encoder, opts.selection);
  let decoder: GeneralDecoder;
  if (opts.decoder instanceof GeneralDecoder) decoder = opts.decoder;
  else {
    const s = opts.decoder;
    decoder = new GeneralDecoder(decoderConfig(s.preset, channels, grid, s.patchSize ?? opts.encoder.patchSize, s.overrides), { rng: s.rng });
  }
  return new RAE({
    encoder: opts.encoder,
    selection: opts.selection,
    decoder,
    stats: opts.stats ?? null,
    noiseTau: opts.noiseTau ?? NOISE_TAU,
    rng: opts.rng ?? new Rng(0),
    grid,
    channels,
  });
}
