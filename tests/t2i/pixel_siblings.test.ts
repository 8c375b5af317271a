import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pixelSiblingAccuracy, pixelPromptItems, type EmojiCaptionItem } from '@raev2/t2i';

const item = (key: string, attributes: Record<string, string>, heldOut = false) => ({ key, path: '', captions: [key], paraphrase: key, heldOut, attributes }) as unknown as EmojiCaptionItem;
// one-pixel "images": the real image of each item
const all = [
  item('man cook, light', { kind: 'person', role: 'cook', gender: 'man', tone: 'light' }),
  item('man cook, dark', { kind: 'person', role: 'cook', gender: 'man', tone: 'dark' }),
  item('woman cook, light', { kind: 'person', role: 'cook', gender: 'woman', tone: 'light' }),
  item('man artist, dark', { kind: 'person', role: 'artist', gender: 'man', tone: 'dark' }),
  item('red heart', { kind: 'shape', colour: 'red', shape: 'heart' }),
  item('blue heart', { kind: 'shape', colour: 'blue', shape: 'heart' }),
  item('green heart', { kind: 'shape', colour: 'green', shape: 'heart' }),
];
const real = new Map<string, Float32Array>([
  ['man cook, light', [0.9, 0.8, 0.7]], ['man cook, dark', [0.3, 0.2, 0.1]], ['woman cook, light', [0.9, 0.7, 0.7]],
  ['man artist, dark', [0.9, 0.8, 0.7]], // looks like the light cook, but is no sibling of the cooks
  ['red heart', [1, 0, 0]], ['blue heart', [0, 0, 1]], ['green heart', [0, 1, 0]],
].map(([k, v]) => [k as string, Float32Array.from(v as number[])]));

test('pixel siblings: nearest real sibling image in RGB, hand-counted', () => {
  const targets = [all[1], all[1], all[4], all[5]];
  const images = [
    Float32Array.from([0.35, 0.2, 0.1]), // dark cook drawn dark: right (nearest: dark cook; the artist is no sibling)
    Float32Array.from([0.85, 0.8, 0.7]), // dark cook drawn light: wrong tone
    Float32Array.from([0.8, 0.1, 0.2]), // red heart drawn red: right
    Float32Array.from([0.1, 0.8, 0.2]), // blue heart drawn green: wrong colour
  ];
  const r = pixelSiblingAccuracy(images, targets, all, real);
  // skin tone: siblings of the dark cook are {light, dark} man cook → 1 of 2, chance 1/2
  assert.deepEqual(r['skin tone'], { accuracy: 0.5, chance: 0.5, count: 2 });
  // gender: the dark cook has no woman sibling in this set → the test does not apply
  assert.equal(r.gender, undefined);
  // colour: 3 hearts → 1 of 2, chance 1/3
  assert.deepEqual(r.colour, { accuracy: 0.5, chance: 1 / 3, count: 2 });
});

test('pixel siblings: bad input names the problem', () => {
  assert.throws(() => pixelSiblingAccuracy([Float32Array.from([0, 0, 0])], [], all, real), /1 images for 0 targets/);
  assert.throws(() => pixelSiblingAccuracy([Float32Array.from([0, 0])], [all[4]], all, real), /images of 2 and 3 values/);
  assert.throws(() => pixelSiblingAccuracy([Float32Array.from([0, 0, 0])], [all[4]], all, new Map()), /no real image for red heart/);
});

test('pixelPromptItems: every shape, every stride-th role with all its tones and genders', () => {
  const picked = pixelPromptItems(all, 2).map((i) => i.key);
  // roles sorted: artist (0), cook (1) → stride 2 keeps artist only
  assert.deepEqual(picked, ['man artist, dark', 'red heart', 'blue heart', 'green heart']);
  assert.equal(pixelPromptItems(all, 1).length, all.length);
});
