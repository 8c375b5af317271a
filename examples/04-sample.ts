/**
 * Demo step 4 on its own: sample the step-3 DiT with free guidance (w = 1.78 for t ∈ [0.1, 1], Euler,
 * one network evaluation per step) into a labelled grid, one row per emoji category, and compare the
 * trained DiT with its initial weights: FD (latent and MobileNetV2 spaces), FD_r and the class
 * accuracy of generated samples under a linear probe trained on real latents.
 *
 *   node --conditions=@raev2/source --import tsx examples/04-sample.ts [--out outputs/steps] [--scale 1.78]
 */
import * as path from 'node:path';
import { z } from 'zod';
import { initRuntime, parseFlags, readStage2Checkpoint, type GenerationMetrics } from '@raev2/core';
import { evaluateFinal, freeGuidance, runSample, SampleFlagsSchema } from '@raev2/cli';

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), { out: { type: 'string' }, scale: { type: 'string' } },
    z.object({ out: z.string().default('outputs/steps'), scale: z.coerce.number().min(0).default(1.78) }), '04-sample');
  await initRuntime();

  const stage2 = path.join(flags.out, 'stage2');
  const sampled = await runSample(SampleFlagsSchema.parse({ ckpt: stage2, out: path.join(flags.out, 'samples'), guidance: 'free', scale: flags.scale, interval: '0.1,1', steps: 50, 'per-class': 8 }));
  console.log(`samples: ${sampled.grid} (${sampled.nfePerImage} network evaluations per image)`);

  const { config } = readStage2Checkpoint(stage2).run;
  const scores = await evaluateFinal(config, freeGuidance(flags.scale));
  const line = (name: string, m: GenerationMetrics) =>
    `${name.padEnd(18)} ${Object.entries(m.fd).map(([k, v]) => `FD[${k.split('[')[0]}] ${v.toFixed(3)}`).join('  ')}  FD_r ${m.fdr?.toFixed(2)}  probe ${(100 * (m.probeAccuracy ?? 0)).toFixed(1)} %`;
  console.log(line('untrained DiT', scores.untrained));
  console.log(line('trained, unguided', scores.trainedUnguided));
  console.log(line(`trained, free(${flags.scale})`, scores.trained));
}

// errors end the script with their message (not a stack through the wasm module)
main().catch((e: Error) => {
  console.error(`04-sample: ${e.message}`);
  process.exit(1);
});
