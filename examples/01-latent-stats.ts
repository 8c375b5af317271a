/**
 * Demo step 1 on its own: the multi-layer latent of the frozen encoder and its statistics.
 * Every demo emoji (class = category) is loaded at 48 px (the decoder's output size) and goes through
 * MobileNetV2 (nsfwjs, offline) at a 96-px input; the last 3 blocks of its 96-channel stage each pass
 * a LayerNorm without affine and are averaged into one 6×6×96 token latent. Per-position,
 * per-channel mean and variance (Welford, noise-free) are written to <out>/stats.safetensors — the
 * standardisation of docs/method.md §1.2.
 *
 *   node --conditions=@raev2/source --import tsx examples/01-latent-stats.ts [--out outputs/steps]
 */
import * as path from 'node:path';
import { z } from 'zod';
import { initRuntime, parseFlags, openDataSource, ImageStore, latentStatsOf, saveStats, disposeStats, progress } from '@raev2/core';
import { loadEncoder } from '@raev2/encoders';
import { writeDemoManifest } from '@raev2/cli';

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), { out: { type: 'string' } }, z.object({ out: z.string().default('outputs/steps') }), '01-latent-stats');
  await initRuntime();

  const data = writeDemoManifest(flags.out); // <out>/emoji.jsonl
  console.log(`${data.total} emoji, ${data.classes.length} categories: ${data.classes.map((c) => `${c.name} (${c.count})`).join(', ')}`);

  const { encoder, selection } = await loadEncoder('mobilenetv2-nsfwjs[layers=last3,res=96]');
  const images = await ImageStore.load(openDataSource(data.source), [48, 48]);
  const bar = progress({ label: 'latent statistics', total: images.count, unit: 'img' });
  const stats = latentStatsOf(encoder, selection, images, 32, (n) => bar.update(n));
  bar.finish();

  const [n, c] = stats.var.shape;
  const std = stats.var.sqrt().mean().dataSync()[0];
  const meanAbs = stats.mean!.abs().mean().dataSync()[0];
  console.log(`latent: blocks ${selection.layers.join(', ')} of ${encoder.name} → ${n} tokens × ${c} channels; mean |μ| ${meanAbs.toFixed(3)}, mean σ ${std.toFixed(3)}`);
  const file = path.join(flags.out, 'stats.safetensors');
  saveStats(file, stats, { encoder: encoder.name, layers: selection.layers.join('.'), count: String(stats.count) });
  console.log(`wrote ${file}`);
  disposeStats(stats);
  encoder.dispose();
}

// errors end the script with their message (not a stack through the wasm module)
main().catch((e: Error) => {
  console.error(`01-latent-stats: ${e.message}`);
  process.exit(1);
});
