/** `raev2 t2i generate`: prompts → PNGs, a captioned grid and request.json (flags → loadT2IModel + writeGenerations). */
import * as fs from 'node:fs';
import { z } from 'zod';
import { initRuntime, parseFlags, UsageError, type Command } from '@raev2/core';
import { loadT2IModel } from '../train/model.js';
import { writeGenerations } from '../train/generate.js';
import { int, num, str } from './flags.js';

const USAGE = `usage: raev2 t2i generate --run <t2i run dir> --decoder <folder> (--prompt "…" … | --prompts <file.txt>) --out <folder> [flags]

  --prompt "…"          a prompt (repeat the flag for several); "" is the null condition (unconditional)
  --prompts <file.txt>  one prompt per line
  --decoder <folder>    stage-1 decoder folder (config.json + model.safetensors, e.g. <stage-1 run>/decoder)
  --guidance none|cfg|free|free+cfg (default cfg)   --scale <cfg w> (default 3)   --free-scale <w> (default 1.78)
  --steps 20  --per-prompt 4  --seed 0  --ckpt <checkpoint dir> (default the run's latest)`;

const Flags = z
  .object({
    run: z.string({ error: 'is required' }).min(1), decoder: z.string({ error: 'is required (a decoder folder)' }).min(1), out: z.string({ error: 'is required' }).min(1),
    prompt: z.array(z.string()).optional(), prompts: z.string().optional(),
    guidance: z.enum(['none', 'cfg', 'free', 'free+cfg']).default('cfg'), scale: num.default(3), 'free-scale': num.default(1.78),
    steps: int.default(20), 'per-prompt': int.default(4), seed: int.default(0), ckpt: z.string().optional(),
  })
  .strict();

/** Prompts from --prompt flags or a --prompts file (errors name the flag / file). */
export function readPrompts(f: { prompt?: string[]; prompts?: string }): string[] {
  if ((f.prompt == null) === (f.prompts == null)) throw new UsageError('t2i generate: give --prompt (repeatable) or --prompts <file>, one of the two');
  if (f.prompt) return f.prompt;
  if (!fs.existsSync(f.prompts!)) throw new UsageError(`t2i generate: --prompts file ${f.prompts} does not exist`);
  const lines = fs.readFileSync(f.prompts!, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines.length === 0) throw new UsageError(`t2i generate: --prompts file ${f.prompts} has no prompt`);
  return lines;
}

export const t2iGenerateCommand: Command = {
  name: 't2i generate',
  summary: 'images from text prompts with a trained T2I run',
  usage: USAGE,
  async run(argv) {
    const opts = { run: str, decoder: str, out: str, prompt: { type: 'string', multiple: true } as const, prompts: str, guidance: str, scale: str, 'free-scale': str, steps: str, 'per-prompt': str, seed: str, ckpt: str };
    const f = parseFlags(argv, opts, Flags, 't2i generate');
    const prompts = readPrompts(f);
    await initRuntime();
    const m = await loadT2IModel(f.run, { ckpt: f.ckpt });
    try {
      const free = { freeScale: f['free-scale'], freeInterval: [0.1, 1] as [number, number] };
      const r = await writeGenerations(m, f.decoder, { prompts, perPrompt: f['per-prompt'], steps: f.steps, seed: f.seed, guidance: { method: f.guidance, cfgScale: f.scale, ...free } }, f.out);
      console.log(`${r.files.length} images (${prompts.length} prompts × ${f['per-prompt']}), NFE per image ${r.nfePerImage}; grid ${r.grid}`);
    } finally {
      m.dispose();
    }
  },
};
