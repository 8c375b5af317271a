import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '@raev2/core';
import { tokenIdentityLoss, siblingRetrieval, type EmojiCaptionItem } from '@raev2/t2i';

test('token identity: mean over non-pad positions of −log softmax(h·Eᵀ)[id], against a float64 recomputation', () => {
  const b = 2, l = 3, h = 4, v = 5, pad = 0;
  const hid = Array.from({ length: b * l * h }, (_, i) => Math.sin(1.3 * i) * 2);
  const emb = Array.from({ length: v * h }, (_, i) => Math.cos(0.7 * i + 0.2));
  const ids = [3, 1, 0, 4, 2, 1]; // one pad position
  let want = 0, n = 0;
  for (let p = 0; p < b * l; p++) {
    if (ids[p] === pad) continue;
    const logits = Array.from({ length: v }, (_, w) => hid.slice(p * h, (p + 1) * h).reduce((s, x, k) => s + x * emb[w * h + k], 0));
    const m = Math.max(...logits);
    const lse = m + Math.log(logits.reduce((s, z) => s + Math.exp(z - m), 0));
    want += lse - logits[ids[p]];
    n++;
  }
  want /= n;
  const n0 = tf.memory().numTensors;
  const [ht, it, et] = [tf.tensor3d(hid, [b, l, h]), tf.tensor2d(ids, [b, l], 'int32'), tf.tensor2d(emb, [v, h])];
  const loss = tokenIdentityLoss(ht, it, et, pad);
  assert.ok(Math.abs(loss.dataSync()[0] - want) < 1e-5 * Math.abs(want), `${loss.dataSync()[0]} vs ${want}`);
  tf.dispose([ht, it, et, loss]);
  assert.equal(tf.memory().numTensors, n0);
});

test('attribute-sibling retrieval: each image among the captions that differ from its own in one attribute', () => {
  const item = (caption: string, attributes: Record<string, string>) => ({ key: caption, path: '', captions: [caption], paraphrase: caption, heldOut: false, attributes }) as unknown as EmojiCaptionItem;
  const all = [
    item('man cook, light', { kind: 'person', role: 'cook', gender: 'man', tone: 'light' }),
    item('man cook, dark', { kind: 'person', role: 'cook', gender: 'man', tone: 'dark' }),
    item('woman cook, light', { kind: 'person', role: 'cook', gender: 'woman', tone: 'light' }),
    item('man artist, light', { kind: 'person', role: 'artist', gender: 'man', tone: 'light' }),
    item('red heart', { kind: 'shape', colour: 'red', shape: 'heart' }),
    item('blue heart', { kind: 'shape', colour: 'blue', shape: 'heart' }),
  ];
  const text: Record<string, number[]> = { 'man cook, light': [1, 0, 0], 'man cook, dark': [0, 1, 0], 'woman cook, light': [0, 0, 1], 'man artist, light': [1, 1, 0], 'red heart': [0, 0, 1], 'blue heart': [0, 1, 0] };
  const images = [all[0], all[1], all[4]];
  // the dark cook's image looks like the light one: a tone miss
  const emb = tf.tensor2d([[1, 0, 0], [1, 0, 0], [0, 0, 1]]);
  const n0 = tf.memory().numTensors;
  const r = siblingRetrieval(emb, images, all, (t) => tf.tensor2d(t.map((c) => text[c])));
  assert.equal(tf.memory().numTensors, n0);
  // tone: light cook among {light, dark} hit, dark cook miss; gender: only the light cook has a sibling (woman cook, light)
  assert.deepEqual(r['skin tone'], { top1: 0.5, chance: 0.5, count: 2 });
  assert.deepEqual(r.gender, { top1: 1, chance: 0.5, count: 1 });
  assert.deepEqual(r.colour, { top1: 1, chance: 0.5, count: 1 });
  assert.equal(r['pair tone 1'], undefined);
  emb.dispose();
});
