import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { imageFolder, jsonlManifest, emojiDataset, splitDataset, subset, classCounts, arrayDataset } from '@raev2/core';

function tmpTree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-data-'));
  for (const [f, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), content);
  }
  return dir;
}

test('image folder: recursive, sorted, class = first-level sub-folder', () => {
  const dir = tmpTree({ 'dog/b.png': 'x', 'dog/a.jpg': 'x', 'cat/deep/c.PNG': 'x', 'cat/notes.txt': 'x', '.hidden/z.png': 'x' });
  try {
    const ds = imageFolder(dir);
    assert.deepEqual(ds.classes, ['cat', 'dog']);
    assert.deepEqual(Array.from({ length: ds.size }, (_, i) => [ds.get(i).key, ds.get(i).label]), [['cat/deep/c.PNG', 0], ['dog/a.jpg', 1], ['dog/b.png', 1]]);
    assert.ok(path.isAbsolute(ds.get(0).path) && fs.existsSync(ds.get(0).path));
    assert.deepEqual(classCounts(ds), [1, 2]);
    assert.throws(() => ds.get(3), /out of range/);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test('image folder: flat folder has no classes; empty or mixed folders are clear errors', () => {
  const flat = tmpTree({ '1.png': 'x', '2.webp': 'x' });
  const empty = tmpTree({ 'readme.md': 'x' });
  const mixed = tmpTree({ 'a/1.png': 'x', 'loose.png': 'x' });
  try {
    const ds = imageFolder(flat);
    assert.equal(ds.classes, undefined);
    assert.equal(ds.size, 2);
    assert.equal(ds.get(0).label, undefined);
    assert.throws(() => imageFolder(empty), /contains no images/);
    assert.throws(() => imageFolder(mixed), /loose\.png is not/);
    assert.equal(imageFolder(mixed, { classes: false }).size, 2);
    assert.throws(() => imageFolder(path.join(flat, 'nope')), /does not exist/);
  } finally {
    for (const d of [flat, empty, mixed]) fs.rmSync(d, { recursive: true });
  }
});

test('JSONL manifest: labels, texts, relative paths; per-line errors name the line', () => {
  const dir = tmpTree({
    'img/a.png': 'x',
    'img/b.png': 'x',
    'ok.jsonl': '{"image": "img/a.png", "label": "zebra", "text": "a zebra"}\n\n{"image": "img/b.png", "label": "ant"}\n',
    'ints.jsonl': '{"image": "img/a.png", "label": 2}\n{"image": "img/b.png"}\n',
    'mixed.jsonl': '{"image": "img/a.png", "label": "x"}\n{"image": "img/b.png", "label": 1}\n',
    'bad.jsonl': '{"image": "img/a.png"}\n{"img": "img/b.png"}\n',
    'badjson.jsonl': '{"image": "img/a.png"}\n{"image": \n',
    'neg.jsonl': '{"image": "img/a.png", "label": -1}\n',
    'missing.jsonl': '{"image": "img/a.png"}\n{"image": "img/nope.png"}\n',
    'empty.jsonl': '\n\n',
  });
  try {
    const ds = jsonlManifest(path.join(dir, 'ok.jsonl'));
    assert.deepEqual(ds.classes, ['ant', 'zebra']);
    assert.deepEqual([ds.get(0).label, ds.get(0).text, ds.get(1).label, ds.get(1).text], [1, 'a zebra', 0, undefined]);
    assert.equal(ds.get(1).path, path.join(dir, 'img/b.png'));
    const ints = jsonlManifest(path.join(dir, 'ints.jsonl'));
    assert.deepEqual(ints.classes, ['0', '1', '2']);
    assert.deepEqual([ints.get(0).label, ints.get(1).label], [2, undefined]);
    assert.throws(() => jsonlManifest(path.join(dir, 'mixed.jsonl')), /mixed\.jsonl:2: labels mix strings and integers/);
    assert.throws(() => jsonlManifest(path.join(dir, 'bad.jsonl')), /bad\.jsonl:2: image: /);
    assert.throws(() => jsonlManifest(path.join(dir, 'badjson.jsonl')), /badjson\.jsonl:2: not valid JSON/);
    assert.throws(() => jsonlManifest(path.join(dir, 'neg.jsonl')), /neg\.jsonl:1: label/);
    assert.throws(() => jsonlManifest(path.join(dir, 'missing.jsonl')), /missing\.jsonl:2: image img\/nope\.png not found/);
    assert.throws(() => jsonlManifest(path.join(dir, 'empty.jsonl')), /has no entries/);
    assert.throws(() => jsonlManifest(path.join(dir, 'none.jsonl')), /cannot read manifest .*none\.jsonl: ENOENT/);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test('emoji dataset (google): names, categories, subcategories, skin tones, missing images skipped', () => {
  const ds = emojiDataset({ style: 'google' });
  assert.ok(ds.size > 3500 && ds.size < 4200, `size ${ds.size}`);
  assert.equal(ds.classes!.length, 10);
  assert.ok(ds.classes!.includes('Smileys & Emotion'));
  const grin = Array.from({ length: ds.size }, (_, i) => ds.get(i)).find((it) => it.key === '1F600')!;
  assert.equal(grin.text, 'grinning face');
  assert.equal(ds.classes![grin.label!], 'Smileys & Emotion');
  assert.ok(fs.existsSync(grin.path) && grin.path.endsWith(path.join('img', 'google', '64', '1f600.png')));
  const toned = Array.from({ length: ds.size }, (_, i) => ds.get(i)).find((it) => it.key === '1F44D-1F3FD')!;
  assert.equal(toned.text, 'thumbs up sign: medium skin tone');
  const sub = emojiDataset({ labelBy: 'subcategory', skinTones: false, categories: ['Flags'] });
  assert.ok(sub.classes!.includes('country-flag') && sub.classes!.length < 5);
  assert.ok(sub.size > 200 && sub.size < 300, `flags ${sub.size}`);
  // an entry whose image is absent for the style is skipped
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-emoji-'));
  try {
    fs.mkdirSync(path.join(dir, 'img/twitter/64'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'img/twitter/64/1f600.png'), 'x');
    fs.writeFileSync(path.join(dir, 'emoji.json'), JSON.stringify([
      { name: 'GRINNING FACE', short_name: 'grinning', unified: '1F600', image: '1f600.png', category: 'Smileys & Emotion', subcategory: 'face-smiling' },
      { name: 'ROBOT FACE', short_name: 'robot_face', unified: '1F916', image: '1f916.png', category: 'Smileys & Emotion', subcategory: 'face-costume' },
    ]));
    const tw = emojiDataset({ style: 'twitter', packageDir: dir });
    assert.equal(tw.size, 1);
    fs.writeFileSync(path.join(dir, 'emoji.json'), JSON.stringify([{ name: 'X', unified: '1', image: '1.png' }]));
    assert.throws(() => emojiDataset({ style: 'twitter', packageDir: dir }), /emoji\.json:\n.*0\.short_name/s);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
  assert.throws(() => emojiDataset({ style: 'apple' }), /npm install emoji-datasource-apple/);
});

test('split: deterministic for a seed, disjoint, covering, order-preserving', () => {
  const ds = arrayDataset('toy', Array.from({ length: 50 }, (_, i) => ({ key: String(i), path: `${i}.png`, label: i % 3 })), ['a', 'b', 'c']);
  const a = splitDataset(ds, { heldOut: 0.2, seed: 7 });
  const b = splitDataset(ds, { heldOut: 0.2, seed: 7 });
  const c = splitDataset(ds, { heldOut: 10, seed: 8 });
  const keys = (d: typeof ds) => Array.from({ length: d.size }, (_, i) => Number(d.get(i).key));
  assert.equal(a.heldOut.size, 10);
  assert.equal(a.train.size, 40);
  assert.deepEqual(keys(a.heldOut), keys(b.heldOut));
  assert.notDeepEqual(keys(a.heldOut), keys(c.heldOut));
  assert.deepEqual([...keys(a.train), ...keys(a.heldOut)].sort((x, y) => x - y), keys(ds));
  assert.deepEqual(keys(a.train), [...keys(a.train)].sort((x, y) => x - y));
  assert.deepEqual(a.train.classes, ['a', 'b', 'c']);
  assert.throws(() => splitDataset(ds, { heldOut: 50 }), /held-out size 50/);
  assert.throws(() => subset(ds, [0, 50]), /subset index 50/);
});
