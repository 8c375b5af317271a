/** `raev2 t2i text-tower train`: the offline default text tower (flags → runTowerTrain). */
import { z } from 'zod';
import { initRuntime, parseFlags, type Command } from '@raev2/core';
import { runTowerTrain } from '../tower/run.js';
import { int, num, str } from './flags.js';

const USAGE = `usage: raev2 t2i text-tower train --out <folder> [flags]

Trains a small SigLIP-2-architecture text tower on the emoji caption set's training captions with
the SigLIP sigmoid loss against the frozen image encoder's pooled latent (locked-image tuning), and
writes an HF folder (config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
image_head.safetensors) plus retrieval.json (image↔text top-1 on held-out captions vs chance).

  --out <folder>      where the tower goes (use it as --text-encoder hf:<folder>)
  --steps 800  --batch 64  --lr 3e-3  --seed 0
  --hidden 64  --layers 2  --heads 2  --mlp 256   tower shape (projection = hidden)
  --identity 1        weight of the token-identity term (each token's id read back from its state)
  --pool 2            average-pooling window of the latent grid for the image features
  --encoder mobilenetv2-nsfwjs[layers=last3]  --image-size 96`;

const Flags = z
  .object({
    out: z.string({ error: 'is required' }).min(1),
    steps: int.optional(), batch: int.optional(), lr: num.optional(), seed: int.optional(),
    hidden: int.optional(), layers: int.optional(), heads: int.optional(), mlp: int.optional(),
    encoder: z.string().optional(), 'image-size': int.optional(), pool: int.optional(), identity: num.optional(),
  })
  .strict();

export const towerTrainCommand: Command = {
  name: 't2i text-tower train',
  summary: 'train the offline SigLIP-2-architecture text tower (sigmoid loss, locked image)',
  usage: USAGE,
  async run(argv) {
    const f = parseFlags(argv, { out: str, steps: str, batch: str, lr: str, seed: str, hidden: str, layers: str, heads: str, mlp: str, encoder: str, 'image-size': str, pool: str, identity: str }, Flags, 't2i text-tower train');
    await initRuntime();
    const hidden = f.hidden ?? 64;
    const r = await runTowerTrain({
      out: f.out, steps: f.steps, batch: f.batch, lr: f.lr, seed: f.seed, encoder: f.encoder, imageSize: f['image-size'], pool: f.pool, identityWeight: f.identity,
      shape: { hidden_size: hidden, projection_size: hidden, num_hidden_layers: f.layers ?? 2, num_attention_heads: f.heads ?? 2, intermediate_size: f.mlp ?? 4 * hidden },
    });
    for (const [k, v] of Object.entries(r.retrieval)) console.log(`${k}: image→text ${(100 * v.imageToText).toFixed(1)} %, text→image ${(100 * v.textToImage).toFixed(1)} % (chance ${(100 * v.chance).toFixed(1)} %, ${v.count} pairs)`);
    for (const [k, v] of Object.entries(r.siblings)) console.log(`held-out images among their ${k} siblings: top-1 ${(100 * v.top1).toFixed(1)} % (chance ${(100 * v.chance).toFixed(1)} %, ${v.count} images)`);
    console.log(`tower written to ${r.dir} (vocabulary ${r.vocabSize})`);
  },
};
