/**
 * Named DiT^DH sizes. Published: RAEv2 XL = D 1440, 28 blocks, 20 heads, head 2 × 2048 / 16 heads,
 * base depth 8, n_t 4, n_c 8; RAE v1 S/B/L/XL = D 384/768/1024/1152 with a 2 × 2048 head.
 * `tiny` and `small` are CPU-scale sizes for this project's defaults and tests.
 */
import type { z } from 'zod';
import type { DiTConfig, DiTConfigInput } from './config.js';
import { RAEDiTConfigSchema, RAEv2DiTConfigSchema, parseDiTConfig } from './config.js';

interface Size {
  hiddenSize: [number, number];
  depth: [number, number];
  numHeads: [number, number];
  /** RAEv2 base-head depth d. */
  baseDepth: number;
}

export const DIT_SIZES = {
  tiny: { hiddenSize: [64, 96], depth: [4, 1], numHeads: [4, 4], baseDepth: 2 },
  small: { hiddenSize: [192, 256], depth: [6, 2], numHeads: [4, 4], baseDepth: 3 },
  S: { hiddenSize: [384, 2048], depth: [12, 2], numHeads: [6, 16], baseDepth: 4 },
  B: { hiddenSize: [768, 2048], depth: [12, 2], numHeads: [12, 16], baseDepth: 4 },
  L: { hiddenSize: [1024, 2048], depth: [24, 2], numHeads: [16, 16], baseDepth: 8 },
  XL: { hiddenSize: [1440, 2048], depth: [28, 2], numHeads: [20, 16], baseDepth: 8 },
} satisfies Record<string, Size>;

/**
 * A preset's widths [D, D_h] widened, where needed, to the latent width C (DiT^DH needs D ≥ C), rounded
 * up to a multiple of the head counts: the CPU presets then fit any encoder (e.g. `tiny`, D = 64, on
 * MobileNetV2's 96-channel latent becomes D = 96). Published sizes are all wider than their latents.
 */
export function fitWidth(hiddenSize: readonly [number, number], channels: number, numHeads: readonly [number, number]): [number, number] {
  const fit = (d: number, heads: number) => Math.max(d, Math.ceil(channels / heads) * heads);
  return [fit(hiddenSize[0], numHeads[0]), fit(hiddenSize[1], numHeads[1])];
}

/** RAE v1 uses D = 1152 at XL (published DiT^DH-XL). */
const RAE_XL: Size = { hiddenSize: [1152, 2048], depth: [28, 2], numHeads: [16, 16], baseDepth: 8 };

export type DiTSizeName = keyof typeof DIT_SIZES;

type RAEv2Input = z.input<typeof RAEv2DiTConfigSchema>;
type RAEInput = z.input<typeof RAEDiTConfigSchema>;

/** Fields a preset cannot guess: the latent grid and width, plus any field of either architecture to override. */
export type PresetOverrides = { inputSize: number | [number, number]; inChannels: number }
  & Partial<Omit<RAEv2Input, 'arch' | 'condition' | 'patchSize'>>
  & Partial<Omit<RAEInput, 'arch' | 'patchSize'>>
  & { patchSize?: number | [number, number]; condition?: Extract<DiTConfigInput, { arch: 'raev2' }>['condition'] };

/** A validated config for a named size and architecture. */
export function ditPreset(size: DiTSizeName, arch: 'raev2' | 'rae', overrides: PresetOverrides): DiTConfig {
  if (!(size in DIT_SIZES)) throw new Error(`unknown DiT size "${size}" (known: ${Object.keys(DIT_SIZES).join(', ')})`);
  const s: Size = arch === 'rae' && size === 'XL' ? RAE_XL : DIT_SIZES[size];
  const base = { hiddenSize: s.hiddenSize, depth: s.depth, numHeads: s.numHeads };
  const cfg = arch === 'raev2' ? { arch, ...base, baseDepth: s.baseDepth, ...overrides } : { arch, ...base, ...overrides };
  return parseDiTConfig(cfg, `DiT preset ${size} (${arch})`);
}
