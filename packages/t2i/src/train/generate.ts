/**
 * Prompt → images through a trained T2I run: the prompts' text condition (the empty prompt as the
 * null condition), Euler sampling with the chosen guidance (none / cfg / free / free+cfg), and the
 * stage-1 decoder (a folder with `config.json` + `model.safetensors`, e.g. a stage-1 run's
 * `decoder/`) to pixels. Writes one PNG per sample, a captioned grid and `request.json`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf, Rng, createRAE, loadDecoder, loadStats, generateLatents, disposeCondition, writeImage, writeLabelledGrid, writeFileAtomic, type GuidanceConfigInput, type Tensor } from '@raev2/core';
import { loadEncoder, withResolution } from '@raev2/encoders';
import type { T2IModel } from './model.js';

export interface GenerateRequest {
  prompts: string[];
  perPrompt: number;
  steps: number;
  guidance: GuidanceConfigInput;
  seed: number;
}

/** Standardised latents [B, N, C] for prompt-major rows (each prompt `perPrompt` times). */
export function generateFromPrompts(m: T2IModel, r: GenerateRequest): { latents: Tensor; nfePerImage: number; rows: string[] } {
  const rows = r.prompts.flatMap((p) => new Array<string>(r.perPrompt).fill(p));
  const cond = m.condition(rows);
  try {
    const g = generateLatents(m.model, cond, { steps: r.steps, shift: m.shift, seed: new Rng(r.seed), guidance: r.guidance, nullCondition: (b) => m.nullCondition(b) });
    return { latents: g.latents, nfePerImage: g.nfePerImage, rows };
  } finally {
    disposeCondition(cond);
  }
}

/** Decode standardised latents with a decoder folder, using the run's statistics → images NHWC [0, 1]. */
export async function decodeLatents(m: T2IModel, decoderDir: string, latents: Tensor): Promise<Tensor> {
  const { encoder, selection } = await loadEncoder(withResolution(m.run.encoder, m.run.imageSize));
  const rae = createRAE({ encoder, selection, decoder: loadDecoder(decoderDir), stats: loadStats(m.run.stats) });
  try {
    return tf.tidy(() => rae.decode(latents).clipByValue(0, 1));
  } finally {
    rae.dispose();
    encoder.dispose();
  }
}

/** Generate, decode and write `<out>/<i>.png`, `<out>/grid.png` and `<out>/request.json`. */
export async function writeGenerations(m: T2IModel, decoderDir: string, r: GenerateRequest, out: string, labels?: string[]): Promise<{ files: string[]; grid: string; nfePerImage: number }> {
  fs.mkdirSync(out, { recursive: true });
  const g = generateFromPrompts(m, r);
  let images: Tensor | null = null;
  try {
    images = await decodeLatents(m, decoderDir, g.latents);
    const files: string[] = [];
    for (let i = 0; i < g.rows.length; i++) {
      const f = path.join(out, `${String(i).padStart(3, '0')}.png`);
      const img = tf.tidy(() => images!.slice([i, 0, 0, 0], [1, -1, -1, -1]).squeeze([0]));
      await writeImage(f, img);
      img.dispose();
      files.push(f);
    }
    const grid = path.join(out, 'grid.png');
    // one row per prompt, its whole text in the left margin (the grid is read by eye against it)
    const rowLabels = r.prompts.map((p, i) => labels?.[i * r.perPrompt] || p);
    const rows = rowLabels.map((label, i) => ({ label, images: images!.slice([i * r.perPrompt, 0, 0, 0], [r.perPrompt, -1, -1, -1]) }));
    try {
      await writeLabelledGrid(grid, rows, { labelWidth: 'fit' });
    } finally {
      rows.forEach((row) => row.images.dispose());
    }
    writeFileAtomic(path.join(out, 'request.json'), JSON.stringify({ ...r, run: m.run, step: m.step, nfePerImage: g.nfePerImage, files: files.map((f) => path.basename(f)) }, null, 2) + '\n');
    return { files, grid, nfePerImage: g.nfePerImage };
  } finally {
    g.latents.dispose();
    images?.dispose();
  }
}
