/**
 * Demo step 3 on its own: train a DiT^DH on the standardised latents of the step-2 run — RAEv2
 * in-context conditioning (time and class tokens in the sequence), x-prediction with the loss in
 * velocity space, logit-normal t shifted by s = 8 (the demo's choice; see demo/plan.ts), and the
 * base head after block 3 (REPA as x-prediction), which gives free guidance at sampling time.
 * Generation metrics (FD in the latent and MobileNetV2 spaces, FD_r, probe accuracy) are logged to
 * <out>/stage2/metrics.jsonl.
 *
 *   node --conditions=@raev2/source --import tsx examples/03-train-dit.ts [--out outputs/steps] [--steps 800]
 */
import * as path from 'node:path';
import { z } from 'zod';
import { initRuntime, parseFlags, parseStage2Config } from '@raev2/core';
import { formatMetrics, freeGuidance, runStage2Train } from '@raev2/cli';

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), { out: { type: 'string' }, steps: { type: 'string' } },
    z.object({ out: z.string().default('outputs/steps'), steps: z.coerce.number().int().positive().default(800) }), '03-train-dit');
  await initRuntime();

  const guidance = freeGuidance(1.78); // x̂ = x̂_base + 1.78·(x̂_full − x̂_base) for t ∈ [0.1, 1]
  const config = parseStage2Config({
    stage1: path.join(flags.out, 'stage1'), // decoder, statistics and encoder of step 2
    data: `manifest:${path.join(flags.out, 'emoji.jsonl')}`,
    heldOut: 0.1, // the same split as step 2
    model: { conditioning: 'in-context', prediction: 'x', hiddenSize: [96, 128], depth: [6, 1], numHeads: [4, 4], baseDepth: 3, numTimeTokens: 2, numCondTokens: 2 },
    transport: { timeDist: 'logit-normal', shift: 8 },
    conditionDropout: 0.1,
    optimizer: { name: 'adamw', lr: 1e-3 },
    schedule: { kind: 'cosine', warmupSteps: Math.min(50, Math.floor(flags.steps / 4)), finalLr: 1e-4 },
    ema: 0.999,
    batchSize: 32,
    steps: flags.steps,
    out: path.join(flags.out, 'stage2'),
    samples: { every: 0, guidance },
    metrics: { every: Math.ceil(flags.steps / 3), steps: 12, guidance, spaces: ['latent', 'mobilenetv2-nsfwjs[stage=13-15,res=64]'] },
  });
  const run = await runStage2Train(config, { resume: true, onMetrics: (m) => console.log(`\n${formatMetrics(m)}`) });
  if (run.interrupted) process.exit(130); // Ctrl-C: checkpointed, run again to continue
  console.log(`DiT: ${run.step} steps, checkpoint ${run.checkpoint}`);
}

// errors end the script with their message (not a stack through the wasm module)
main().catch((e: Error) => {
  console.error(`03-train-dit: ${e.message}`);
  process.exit(1);
});
