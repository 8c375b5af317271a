/**
 * The real workloads the benchmark times: the emoji demo's DiT^DH and decoder (the shipped
 * checkpoint's shapes: 6×6×96 latent, D 96/128, 6+1 blocks, base head at 3; ViT decoder `tiny`,
 * patch 8) and DiT-S-sized ones on 16×16 latents (DiT-S body D 384, 12 blocks, 6 heads; ViT-S decoder
 * patch 16 → 256 px). The DiT-S head is 2 × 512 here (the published 2 × 2048 head is 20× the body's
 * FLOPs, beyond a 2-core bench; `--dit-s-head 2048` restores it on a bigger machine).
 */
import { parseDiTConfig, decoderConfig, DIT_SIZES, type DiTConfig, type DecoderConfig } from '@raev2/core';

export interface DiTCase {
  name: string;
  config: DiTConfig;
  /** Training batch and sampling batch. */
  trainBatch: number;
  sampleBatch: number;
}

export interface DecoderCase {
  name: string;
  config: DecoderConfig;
  batch: number;
}

/** `only`: 'demo' keeps the demo case alone (the thread-scaling children on a slow machine). */
export function ditCases(smoke: boolean, headWidth = 512, only: 'all' | 'demo' = 'all'): DiTCase[] {
  if (smoke) {
    return [{ name: 'tiny', config: parseDiTConfig({ arch: 'raev2', inputSize: 2, inChannels: 8, numClasses: 4, hiddenSize: [32, 48], depth: [2, 1], numHeads: [2, 2], baseDepth: 1 }, 'bench tiny DiT'), trainBatch: 2, sampleBatch: 2 }];
  }
  const cases: DiTCase[] = [
    {
      name: 'demo 6×6×96',
      config: parseDiTConfig({ arch: 'raev2', inputSize: 6, inChannels: 96, numClasses: 9, hiddenSize: [96, 128], depth: [6, 1], numHeads: [4, 4], baseDepth: 3, numTimeTokens: 2, numCondTokens: 2 }, 'bench demo DiT'),
      trainBatch: 32,
      sampleBatch: 32,
    },
    {
      name: `DiT-S 16×16×384 (head ${headWidth})`,
      config: parseDiTConfig({ arch: 'raev2', inputSize: 16, inChannels: 384, numClasses: 1000, hiddenSize: [DIT_SIZES.S.hiddenSize[0], headWidth], depth: DIT_SIZES.S.depth, numHeads: [DIT_SIZES.S.numHeads[0], headWidth / 64], baseDepth: DIT_SIZES.S.baseDepth }, 'bench DiT-S'),
      trainBatch: 2,
      sampleBatch: 4,
    },
  ];
  return only === 'demo' ? cases.slice(0, 1) : cases;
}

export function decoderCases(smoke: boolean): DecoderCase[] {
  if (smoke) return [{ name: 'tiny', config: decoderConfig('tiny', 8, [2, 2], 4, { decoder_num_hidden_layers: 1 }), batch: 2 }];
  return [
    { name: 'demo tiny 6×6, p8', config: decoderConfig('tiny', 96, [6, 6], 8), batch: 16 },
    { name: 'ViT-S 16×16, p16', config: decoderConfig('S', 384, [16, 16], 16), batch: 2 },
  ];
}
