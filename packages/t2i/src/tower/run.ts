/**
 * `t2i text-tower train` as a function: the offline default text tower (docs/t2i.md). Builds the
 * word-level tokenizer from the training captions, encodes the training images with the frozen
 * image encoder (pooled multi-layer latent), trains a SigLIP-2-architecture tower with the sigmoid
 * loss (locked-image tuning), writes the HF folder, and measures image↔text retrieval top-1 on the
 * held-out-combination captions and their paraphrases against chance, and among captions that
 * differ in one attribute (`retrieval.json`).
 */
import * as path from 'node:path';
import { z } from 'zod';
import { tf, parseWith, writeFileAtomic } from '@raev2/core';
import { loadEncoder, loadTokenizer, withResolution } from '@raev2/encoders';
import { emojiCaptionSet, splitHeldOut } from '../data/emoji_captions.js';
import type { CaptionedItem } from '../data/captioned.js';
import { buildVocab, writeWordTokenizer, SPECIAL_TOKENS } from './tokenizer_build.js';
import { TowerShapeSchema, createTextTower, towerConfigJson } from './tower.js';
import { pooledFeatures } from './image_features.js';
import { rawLatentsCached } from '../train/latents.js';
import { trainTextTower } from './train.js';
import { retrievalTop1, type Retrieval } from './retrieval.js';
import { siblingRetrieval, type SiblingRetrieval } from './siblings.js';
import { saveTextTower } from './save.js';

export const TowerTrainConfigSchema = z
  .object({
    out: z.string().min(1),
    encoder: z.string().min(1).default('mobilenetv2-nsfwjs[layers=last3]'),
    imageSize: z.number().int().positive().default(96),
    shape: TowerShapeSchema.default(() => TowerShapeSchema.parse({ hidden_size: 64, intermediate_size: 256, num_attention_heads: 2, projection_size: 64 })),
    /** Average-pooling window of the latent grid for the frozen image features. */
    pool: z.number().int().positive().default(2),
    steps: z.number().int().positive().default(800),
    batch: z.number().int().positive().default(64),
    lr: z.number().positive().default(3e-3),
    weightDecay: z.number().min(0).default(1e-4),
    seed: z.number().int().nonnegative().default(0),
    /** Weight of the token-identity term (token_identity.ts; 1 measured in docs/t2i.md, 0 = sigmoid loss alone). */
    identityWeight: z.number().min(0).default(1),
  })
  .strict();
export type TowerTrainConfig = z.infer<typeof TowerTrainConfigSchema>;

export interface TowerTrainResult {
  dir: string;
  vocabSize: number;
  retrieval: Record<string, Retrieval>;
  /** Held-out images among captions that differ from theirs in one attribute. */
  siblings: Record<string, SiblingRetrieval>;
}

/** Train the offline tower on the emoji caption set's training split; see the file comment. */
export async function runTowerTrain(input: z.input<typeof TowerTrainConfigSchema>): Promise<TowerTrainResult> {
  const cfg = parseWith(TowerTrainConfigSchema, input, 't2i text-tower train config');
  const { train, heldOut } = splitHeldOut(emojiCaptionSet().items);
  const vocab = buildVocab(train.flatMap((i) => i.captions));
  const vocabSize = writeWordTokenizer(cfg.out, vocab, { maxLength: cfg.shape.max_position_embeddings });
  const tokenizer = await loadTokenizer(cfg.out);
  const { encoder, selection } = await loadEncoder(withResolution(cfg.encoder, cfg.imageSize));
  let feats: { train: tf.Tensor; heldOut: tf.Tensor };
  try {
    const enc = async (items: CaptionedItem[], name: string) => {
      const l = await rawLatentsCached(encoder, selection, cfg.encoder, cfg.imageSize, items, path.join(cfg.out, `${name}.latents.safetensors`));
      return tf.tidy(() => pooledFeatures(tf.tensor3d(l.data, [l.count, l.grid[0] * l.grid[1], l.channels]), l.grid, cfg.pool));
    };
    feats = { train: await enc(train, 'train'), heldOut: await enc(heldOut, 'heldout') };
  } finally {
    encoder.dispose();
  }
  const configJson = towerConfigJson(cfg.shape, vocabSize, { pad: vocab[SPECIAL_TOKENS.pad], eos: vocab[SPECIAL_TOKENS.eos] });
  const tower = createTextTower(configJson, cfg.seed);
  try {
    const head = trainTextTower(tower, tokenizer, { features: feats.train, captions: train.map((i) => i.captions) }, { steps: cfg.steps, batch: cfg.batch, lr: cfg.lr, weightDecay: cfg.weightDecay, seed: cfg.seed, identityWeight: cfg.identityWeight });
    try {
      saveTextTower(cfg.out, configJson, tower, head, { trainedOn: 'emoji caption set (training split)', steps: String(cfg.steps) });
      const embedText = (texts: string[]) => {
        const b = tokenizer.tokenize(texts);
        const ids = tf.tensor2d(b.ids, [b.batch, b.length], 'int32');
        const out = tower.forward(ids);
        ids.dispose();
        tf.dispose([...out.hiddenStates, out.lastHiddenState]);
        return out.poolerOutput;
      };
      const score = (f: tf.Tensor, texts: string[]) => {
        const img = head.forward(f), txt = embedText(texts);
        const r = retrievalTop1(img, txt);
        tf.dispose([img, txt]);
        return r;
      };
      const seen = train.filter((_, i) => i % 6 === 0);
      const seenIdx = train.map((_, i) => i).filter((i) => i % 6 === 0);
      const seenF = tf.tidy(() => tf.gather(feats.train, tf.tensor1d(seenIdx, 'int32')));
      const retrieval = {
        'held-out combinations': score(feats.heldOut, heldOut.map((i) => i.captions[0])),
        'held-out, paraphrased': score(feats.heldOut, heldOut.map((i) => i.paraphrase)),
        'seen (every 6th training image)': score(seenF, seen.map((i) => i.captions[0])),
        'seen, paraphrased': score(seenF, seen.map((i) => i.paraphrase)),
      };
      seenF.dispose();
      const heldOutEmb = head.forward(feats.heldOut);
      const siblings = siblingRetrieval(heldOutEmb, heldOut, [...train, ...heldOut], embedText);
      heldOutEmb.dispose();
      writeFileAtomic(path.join(cfg.out, 'retrieval.json'), JSON.stringify({ config: cfg, vocabSize, retrieval, siblings }, null, 2) + '\n');
      return { dir: cfg.out, vocabSize, retrieval, siblings };
    } finally {
      head.dispose();
    }
  } finally {
    tower.dispose();
    tf.dispose([feats.train, feats.heldOut]);
  }
}
