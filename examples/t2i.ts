/**
 * Text to image through the library API: load a trained T2I run (its DiT^DH, its text tower and the
 * empty-prompt null condition), sample prompts with CFG, decode with a stage-1 decoder, write PNGs
 * and a captioned grid.
 *
 *   node --conditions=@raev2/source --import tsx examples/t2i.ts --run <t2i run> --decoder <decoder folder> \
 *        [--prompt "woman firefighter, medium-dark skin tone"] [--out outputs/t2i-example]
 *
 * Make a run with `npm run raev2 -- t2i text-tower train --out runs/tower` then
 * `npm run raev2 -- t2i train --text-encoder hf:runs/tower --out runs/t2i` (see docs/t2i.md).
 */
import { z } from 'zod';
import { initRuntime, parseFlags } from '@raev2/core';
import { loadT2IModel, writeGenerations } from '@raev2/t2i';

async function main(): Promise<void> {
  const f = parseFlags(
    process.argv.slice(2),
    { run: { type: 'string' }, decoder: { type: 'string' }, prompt: { type: 'string', multiple: true }, out: { type: 'string' } },
    z.object({ run: z.string(), decoder: z.string(), prompt: z.array(z.string()).default(['woman firefighter, medium-dark skin tone', 'orange heart']), out: z.string().default('outputs/t2i-example') }),
    't2i example',
  );
  await initRuntime();
  const model = await loadT2IModel(f.run);
  try {
    const r = await writeGenerations(model, f.decoder, { prompts: f.prompt, perPrompt: 4, steps: 20, seed: 0, guidance: { method: 'cfg', cfgScale: 3 } }, f.out);
    console.log(`${r.files.length} images, grid ${r.grid} (${r.nfePerImage} network evaluations per image)`);
  } finally {
    model.dispose();
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
