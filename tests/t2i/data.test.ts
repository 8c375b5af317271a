import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { captionFolder, captionManifest, emojiCaptionSet, samplingGroup, splitHeldOut, GENDERS, TONES, COLOURS, SHAPES } from '@raev2/t2i';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 't2i-data-'));
  dirs.push(d);
  return d;
};

const set = emojiCaptionSet();
const people = set.items.filter((i) => i.attributes.kind === 'person');

test('people: each role holds out exactly one (gender, tone) cell, and the cells form a cyclic Latin square', () => {
  const G = GENDERS.length, T = TONES.length;
  assert.ok(set.roles.length >= G * T, `at least one full block of ${G * T} roles (got ${set.roles.length})`);
  const heldCell = new Map<string, string>();
  for (const role of set.roles) {
    const cells = people.filter((i) => i.attributes.role === role);
    assert.equal(cells.length, G * T, `${role}: every gender × tone image present`);
    const held = cells.filter((i) => i.heldOut);
    assert.equal(held.length, 1, `${role}: one held-out cell`);
    heldCell.set(role, `${held[0].attributes.gender}/${held[0].attributes.tone}`);
  }
  // every block of G·T consecutive roles holds out every (gender, tone) cell exactly once
  for (let b = 0; b + G * T <= set.roles.length; b += G * T) {
    const cells = set.roles.slice(b, b + G * T).map((r) => heldCell.get(r)!);
    assert.equal(new Set(cells).size, G * T, `block at role ${b}: all cells distinct`);
    for (const g of GENDERS) assert.equal(cells.filter((c) => c.startsWith(`${g}/`)).length, T, `block ${b}: gender ${g} held out ${T} times`);
    for (const t of TONES) assert.equal(cells.filter((c) => c.endsWith(`/${t}`)).length, G, `block ${b}: tone ${t} held out ${G} times`);
  }
});

test('no held-out image (or its captions) is in the training split', () => {
  const { train, heldOut } = splitHeldOut(set.items);
  assert.equal(train.length + heldOut.length, set.items.length);
  const trainPaths = new Set(train.map((i) => i.path));
  const trainCaptions = new Set(train.flatMap((i) => [...i.captions, i.paraphrase]));
  for (const h of heldOut) {
    assert.ok(!trainPaths.has(h.path), `${h.key} is also a training image`);
    for (const c of [...h.captions, h.paraphrase]) assert.ok(!trainCaptions.has(c), `held-out caption "${c}" is a training caption`);
  }
  assert.equal(new Set(set.items.map((i) => i.path)).size, set.items.length, 'every image once');
  // the held-out kinds: one cell per role, three colour × shape cells, one tone pair per tone per pair emoji
  assert.equal(heldOut.filter((i) => i.attributes.kind === 'person').length, set.roles.length);
  assert.deepEqual(heldOut.filter((i) => i.attributes.kind === 'shape').map((i) => i.captions[0]), ['orange heart', 'blue circle', 'black square']);
  assert.equal(heldOut.filter((i) => i.attributes.kind === 'pair').length, set.pairs.length * TONES.length);
});

test('every single attribute value and every pair of factor values is still seen in training', () => {
  const { train } = splitHeldOut(set.items);
  const seen = (kind: string, f: (a: Record<string, string>) => string) => new Set(train.filter((i) => i.attributes.kind === kind).map((i) => f(i.attributes)));
  const roleGender = seen('person', (a) => `${a.role}|${a.gender}`), roleTone = seen('person', (a) => `${a.role}|${a.tone}`), genderTone = seen('person', (a) => `${a.gender}|${a.tone}`);
  for (const r of set.roles) {
    for (const g of GENDERS) assert.ok(roleGender.has(`${r}|${g}`), `${r} × ${g} seen`);
    for (const t of TONES) assert.ok(roleTone.has(`${r}|${t}`), `${r} × ${t} seen`);
  }
  for (const g of GENDERS) for (const t of TONES) assert.ok(genderTone.has(`${g}|${t}`), `${g} × ${t} seen`);
  const colours = seen('shape', (a) => a.colour), shapes = seen('shape', (a) => a.shape);
  for (const c of COLOURS) assert.ok(colours.has(c), `colour ${c} seen`);
  for (const s of SHAPES) assert.ok(shapes.has(s), `shape ${s} seen`);
  const tone1 = seen('pair', (a) => `${a.pair}|${a.tone1}`), tone2 = seen('pair', (a) => `${a.pair}|${a.tone2}`);
  for (const p of set.pairs) for (const t of TONES) assert.ok(tone1.has(`${p}|${t}`) && tone2.has(`${p}|${t}`), `${p} with ${t} on both sides`);
});

test('sampling groups: each emoji item in its kind; a manifest line’s own group wins', () => {
  for (const it of emojiCaptionSet().items) assert.equal(samplingGroup(it), it.attributes.kind, it.key);
  assert.equal(samplingGroup({ key: 'a', path: 'a.png', captions: ['x'], group: 'g', attributes: { kind: 'shape' } }), 'g');
  assert.equal(samplingGroup({ key: 'a', path: 'a.png', captions: ['x'] }), undefined);
});

test('captions: lower case, two training templates and a distinct paraphrase', () => {
  const woman = people.find((i) => i.attributes.role === 'firefighter' && i.attributes.gender === 'woman' && i.attributes.tone === 'medium-dark')!;
  assert.deepEqual(woman.captions, ['woman firefighter, medium-dark skin tone', 'a woman firefighter with medium-dark skin']);
  assert.equal(woman.paraphrase, 'medium-dark skin tone, woman firefighter');
  assert.match(path.basename(woman.path), /^1f469-1f3fe-200d-1f692\.png$/, 'the medium-dark woman firefighter image');
  for (const i of set.items) {
    for (const c of [...i.captions, i.paraphrase]) assert.equal(c, c.toLowerCase());
    assert.equal(new Set([...i.captions, i.paraphrase]).size, 3, `${i.key}: three distinct captions`);
  }
});

test('JSONL manifest: one or several captions; a bad line names file and line', () => {
  const d = tmp();
  fs.writeFileSync(path.join(d, 'a.png'), 'x');
  const good = path.join(d, 'm.jsonl');
  fs.writeFileSync(good, '{"image":"a.png","caption":"red heart"}\n\n{"image":"a.png","captions":["x","y"],"group":"shapes"}\n');
  const ds = captionManifest(good);
  assert.deepEqual(ds.items.map((i) => i.captions), [['red heart'], ['x', 'y']]);
  assert.deepEqual(ds.items.map((i) => i.group), [undefined, 'shapes']);
  const bad = (content: string, pattern: RegExp) => {
    const f = path.join(d, 'bad.jsonl');
    fs.writeFileSync(f, content);
    assert.throws(() => captionManifest(f), pattern);
  };
  bad('{"image":"a.png","caption":"ok"}\n{"caption":"no image"}\n', /bad\.jsonl:2: missing "image"/);
  bad('{"image":"a.png"}\n', /bad\.jsonl:1: missing "caption"/);
  bad('{"image":"a.png","caption":"  "}\n', /bad\.jsonl:1: "caption" must be a non-empty string/);
  bad('{"image":"b.png","caption":"x"}\n', /bad\.jsonl:1: image b\.png not found/);
  bad('{"image":"a.png","caption":"x"\n', /bad\.jsonl:1: not valid JSON/);
  bad('', /has no entries/);
  bad('{"image":"a.png","caption":"x","group":""}\n', /bad\.jsonl:1:/);
});

test('caption folder: same-named .txt; a caption without an image or an image without a caption is named', () => {
  const d = tmp();
  fs.mkdirSync(path.join(d, 'sub'));
  fs.writeFileSync(path.join(d, 'a.png'), 'x');
  fs.writeFileSync(path.join(d, 'a.txt'), 'red heart\n\nblue heart\n');
  fs.writeFileSync(path.join(d, 'sub', 'b.jpg'), 'x');
  fs.writeFileSync(path.join(d, 'sub', 'b.txt'), 'green circle');
  assert.deepEqual(captionFolder(d).items.map((i) => [i.key, i.captions]), [['a.png', ['red heart', 'blue heart']], ['sub/b.jpg', ['green circle']]]);
  fs.writeFileSync(path.join(d, 'orphan.txt'), 'no image');
  assert.throws(() => captionFolder(d), /orphan\.txt: caption file without an image/);
  fs.rmSync(path.join(d, 'orphan.txt'));
  fs.writeFileSync(path.join(d, 'c.png'), 'x');
  assert.throws(() => captionFolder(d), /c\.png: image without a caption file/);
  fs.writeFileSync(path.join(d, 'c.txt'), '\n');
  assert.throws(() => captionFolder(d), /c\.txt: the caption file is empty/);
});
