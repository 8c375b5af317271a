/**
 * Training the offline text tower with the SigLIP sigmoid loss against frozen image features
 * (locked-image tuning, docs/t2i.md): each step draws B distinct images, one of their training
 * captions each, embeds the captions with the tower (pooled output) and the features with the
 * linear image head, and takes an AdamW step on the tower, the head, t' and b together.
 */
import { tf, Rng, AdamW, noDecayBiasNorm, valueAndGrads, disposeGrads, clipGradNorm, progress, type Tensor } from '@raev2/core';
import type { SiglipTextModel, TextTokenizer } from '@raev2/encoders';
import { sigmoidLoss } from './sigmoid_loss.js';
import { LockedImageHead } from './tower.js';
import { tokenIdentityLoss } from './token_identity.js';

export interface TowerTrainOptions {
  steps: number;
  batch: number;
  lr: number;
  weightDecay: number;
  seed: number;
  /** Weight of the token-identity term (token_identity.ts); 0 = the sigmoid loss alone. */
  identityWeight: number;
  /** Called every `logEvery` steps with the mean loss since the last call. */
  onLog?: (r: { step: number; loss: number; t: number; b: number }) => void;
  logEvery?: number;
}

export interface TowerTrainData {
  /** Frozen image features [M, F]. */
  features: Tensor;
  /** Training captions of each image (≥ 1 each). */
  captions: string[][];
}

/** Token ids of captions as a host table (fixed-length rows). */
export function tokenTable(tokenizer: TextTokenizer, texts: string[]): { ids: Int32Array; length: number } {
  const b = tokenizer.tokenize(texts);
  return { ids: b.ids, length: b.length };
}

/** Train `tower` and a fresh image head in place; returns the head (caller disposes). */
export function trainTextTower(tower: SiglipTextModel, tokenizer: TextTokenizer, data: TowerTrainData, o: TowerTrainOptions): LockedImageHead {
  const m = data.features.shape[0] as number;
  if (data.captions.length !== m) throw new Error(`${data.captions.length} caption lists for ${m} images`);
  const batch = Math.min(o.batch, m);
  const head = new LockedImageHead(data.features.shape[1] as number, tower.config.projection_size, o.seed);
  const flat = data.captions.flat();
  const offset: number[] = [];
  data.captions.reduce((acc, c) => (offset.push(acc), acc + c.length), 0);
  const table = tokenTable(tokenizer, flat);
  const params = [...tower.namedParameters('tower.'), ...head.namedParameters('head.')];
  const opt = new AdamW(params, { lr: o.lr, betas: [0.9, 0.95], weightDecay: o.weightDecay, noDecay: noDecayBiasNorm });
  const rng = new Rng(o.seed);
  const bar = progress({ label: 'text tower', total: o.steps, unit: 'step' });
  const identityWeight = o.identityWeight;
  const padId = tower.config.pad_token_id ?? 0;
  let order: number[] = [], pos = 0, sum = 0, n = 0;
  try {
    for (let step = 1; step <= o.steps; step++) {
      if (pos + batch > order.length) {
        order = rng.permutation(m);
        pos = 0;
      }
      const rows = order.slice(pos, pos + batch);
      pos += batch;
      const ids = new Int32Array(batch * table.length);
      rows.forEach((r, k) => {
        const c = offset[r] + rng.int(data.captions[r].length);
        ids.set(table.ids.subarray(c * table.length, (c + 1) * table.length), k * table.length);
      });
      opt.lr = o.lr * cosine(step, o.steps, Math.ceil(o.steps * 0.05));
      const idT = tf.tensor2d(ids, [batch, table.length], 'int32');
      const feats = tf.tidy(() => tf.gather(data.features, tf.tensor1d(rows, 'int32')));
      // intermediates stay alive until the gradients are taken (variableGrads disposes them)
      const { value, grads } = valueAndGrads(() => {
        const out = tower.forward(idT);
        const contrastive = sigmoidLoss(head.forward(feats), out.poolerOutput, head.logit_scale, head.logit_bias);
        if (!identityWeight) return contrastive;
        return contrastive.add(tokenIdentityLoss(out.lastHiddenState, idT, tower.text_model.embeddings.token_embedding.weight, padId).mul(identityWeight));
      }, params);
      idT.dispose();
      feats.dispose();
      clipGradNorm(grads, 1.0);
      opt.step(grads);
      disposeGrads(grads);
      sum += value;
      n++;
      const logEvery = o.logEvery ?? 50;
      if (step % logEvery === 0 || step === o.steps) {
        const t = head.logit_scale.dataSync()[0], b = head.logit_bias.dataSync()[0];
        o.onLog?.({ step, loss: sum / n, t, b });
        bar.update(step, { loss: sum / n, "t'": t, b });
        sum = 0;
        n = 0;
      }
    }
  } finally {
    opt.dispose();
    bar.finish();
  }
  tower.eval();
  return head;
}

/** Linear warm-up then cosine to 10 % of the peak. */
function cosine(step: number, total: number, warmup: number): number {
  if (step <= warmup) return step / warmup;
  const p = (step - warmup) / Math.max(1, total - warmup);
  return 0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * p));
}
