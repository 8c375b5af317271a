/**
 * Demo step 2 on its own: train the RAE pixel decoder on the frozen MobileNetV2's multi-layer latent
 * (6×6×96 tokens, 8 px per token → 48-px emoji; noise augmentation τ = 0.8; L1 loss, or L1 +
 * MobileNetV2 perceptual with --perceptual <w>; no GAN; AdamW + cosine; EMA), then score it on
 * held-out emoji (PSNR, SSIM, rFD). The run folder <out>/stage1 also receives the latent statistics
 * (noise-free, over the training images) that stage 2 standardises with. Re-running resumes from the
 * last checkpoint; Ctrl-C checkpoints.
 *
 *   node --conditions=@raev2/source --import tsx examples/02-train-decoder.ts [--out outputs/steps] [--steps 2000] [--perceptual 0.1]
 */
import * as path from 'node:path';
import { z } from 'zod';
import { initRuntime, parseFlags, parseStage1Config } from '@raev2/core';
import { emaForSteps, runStage1Eval, runStage1Train, writeDemoManifest } from '@raev2/cli';

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), { out: { type: 'string' }, steps: { type: 'string' }, perceptual: { type: 'string' } },
    z.object({ out: z.string().default('outputs/steps'), steps: z.coerce.number().int().positive().default(2000), perceptual: z.coerce.number().min(0).default(0) }), '02-train-decoder');
  await initRuntime();

  const data = writeDemoManifest(flags.out);
  const config = parseStage1Config({
    encoder: 'mobilenetv2-nsfwjs[layers=last3]', // last 3 blocks of the stride-16, 96-channel stage
    imageSize: 96, // encoder input → a 6×6 latent grid
    data: data.source,
    heldOut: 0.1,
    decoder: { preset: 'tiny', overrides: { patch_size: 8 } }, // 6 × 8 = 48-px output
    batchSize: 16,
    steps: flags.steps,
    lr: 1e-3,
    finalLr: 1e-4,
    warmupEpochs: 0.5,
    ema: emaForSteps(flags.steps),
    noiseTau: 0.8,
    perceptual: { weight: flags.perceptual, net: flags.perceptual > 0 ? 'mobilenetv2' : 'none' },
    gan: { enabled: false },
    out: path.join(flags.out, 'stage1'),
    sampleEvery: 100,
  });
  const run = await runStage1Train(config, { resume: true });
  if (run.interrupted) process.exit(130); // Ctrl-C: checkpointed, run again to continue
  console.log(`decoder: ${run.decoderDir}; latent statistics: ${run.statsFile}`);

  const score = await runStage1Eval({ run: config.out, features: 'mobilenetv2-nsfwjs[stage=13-15,res=64]', batch: 32 });
  console.log(`held-out (${score.count} images): PSNR ${score.psnr.toFixed(2)} dB, SSIM ${score.ssim.toFixed(4)}, rFD ${score.rfd?.toFixed(3)}`);
}

// errors end the script with their message (not a stack through the wasm module)
main().catch((e: Error) => {
  console.error(`02-train-decoder: ${e.message}`);
  process.exit(1);
});
