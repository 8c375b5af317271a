/**
 * The offline captioned dataset: the 64-px images of `emoji-datasource-google` with compositional,
 * lower-case captions built from the emoji metadata —
 *   people:  role × gender × skin tone   ("woman firefighter, medium-dark skin tone"),
 *   shapes:  colour × shape              ("orange heart", "blue circle", "black square"),
 *   pairs:   two-person emoji × tone pair ("kiss, woman and man, light and dark skin tones").
 * Each item has two training captions (templates 0 and 1) and a paraphrase (template 2) kept for a
 * paraphrase test. `heldOut` marks the combinations of `heldout.ts`: they never reach training.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { emojiPackageDir, parseWith } from '@raev2/core';
import type { CaptionedDataset, CaptionedItem } from './captioned.js';
import { heldOutColour, heldOutPersonCell, isHeldOutTonePair } from './heldout.js';

export const GENDERS = ['man', 'woman'] as const;
export const TONES = ['light', 'medium-light', 'medium', 'medium-dark', 'dark'] as const;
const TONE_CODES = ['1F3FB', '1F3FC', '1F3FD', '1F3FE', '1F3FF'];
export const COLOURS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'brown', 'black', 'white'] as const;
export const SHAPES = ['heart', 'circle', 'square'] as const;

/** emoji.json name (lower case) of each colour × shape cell. */
function shapeEmojiName(colour: string, shape: string): string {
  if (shape === 'heart') return colour === 'red' ? 'heavy black heart' : `${colour} heart`;
  if (shape === 'circle') return colour === 'black' || colour === 'white' ? `medium ${colour} circle` : `large ${colour} circle`;
  return colour === 'black' || colour === 'white' ? `${colour} large square` : `large ${colour} square`;
}

const Variation = z.object({ image: z.string() }).loose();
const Entry = z.object({ name: z.string().nullable().optional(), unified: z.string(), image: z.string(), skin_variations: z.record(z.string(), Variation).optional() }).loose();

/** An item of the emoji caption set, with its split. */
export interface EmojiCaptionItem extends CaptionedItem {
  attributes: Record<string, string>;
  paraphrase: string;
  /** One of the held-out combinations: never trained on. */
  heldOut: boolean;
}

export interface EmojiCaptionSet extends CaptionedDataset {
  readonly items: readonly EmojiCaptionItem[];
  /** Roles, in the order their held-out cells were assigned. */
  readonly roles: string[];
  /** Two-person subjects as captions name them ("kiss, woman and man"). */
  readonly pairs: string[];
}

/** Caption templates; index 2 is the paraphrase kept out of training. */
export const PERSON_TEMPLATES = [
  (g: string, r: string, t: string) => `${g} ${r}, ${t} skin tone`,
  (g: string, r: string, t: string) => `a ${g} ${r} with ${t} skin`,
  (g: string, r: string, t: string) => `${t} skin tone, ${g} ${r}`,
];
export const SHAPE_TEMPLATES = [
  (c: string, s: string) => `${c} ${s}`,
  (c: string, s: string) => `a ${c} ${s}`,
  (c: string, s: string) => `${s}, ${c}`,
];
export const PAIR_TEMPLATES = [
  (p: string, a: string, b: string) => `${p}, ${a} and ${b} skin tones`,
  (p: string, a: string, b: string) => `${p} with ${a} and ${b} skin`,
  (p: string, a: string, b: string) => `${a} and ${b} skin tones, ${p}`,
];

/** Build the set from the installed `emoji-datasource-google` (or `packageDir`). */
export function emojiCaptionSet(opts: { packageDir?: string } = {}): EmojiCaptionSet {
  const dir = opts.packageDir ?? emojiPackageDir('google');
  const jsonFile = path.join(dir, 'emoji.json');
  const entries = parseWith(z.array(Entry), JSON.parse(fs.readFileSync(jsonFile, 'utf8')), jsonFile);
  const imgDir = path.join(dir, 'img', 'google', '64');
  const byName = new Map<string, z.infer<typeof Entry>>();
  for (const e of entries) if (e.name) byName.set(e.name.toLowerCase(), e);
  const image = (file: string) => {
    const p = path.join(imgDir, file);
    if (!fs.existsSync(p)) throw new Error(`${jsonFile}: image ${file} is missing from ${imgDir}`);
    return p;
  };
  const items: EmojiCaptionItem[] = [];

  // people: roles with both a man and a woman emoji that take skin tones (sorted: a stable role order)
  const roles = [...byName.keys()]
    .map((n) => /^man (.+)$/.exec(n)?.[1])
    .filter((r): r is string => r != null && !/facing right|holding hands/.test(r) && byName.get(`man ${r}`)?.skin_variations != null && byName.get(`woman ${r}`)?.skin_variations != null)
    .sort();
  roles.forEach((role, r) => {
    const held = heldOutPersonCell(r, GENDERS.length, TONES.length);
    GENDERS.forEach((gender, g) => {
      const e = byName.get(`${gender} ${role}`)!;
      TONES.forEach((tone, t) => {
        const v = e.skin_variations![TONE_CODES[t]];
        if (v == null) throw new Error(`${jsonFile}: "${gender} ${role}" has no ${tone} skin-tone variant`);
        items.push({
          key: v.image.replace(/\.png$/, ''),
          path: image(v.image),
          captions: [PERSON_TEMPLATES[0](gender, role, tone), PERSON_TEMPLATES[1](gender, role, tone)],
          paraphrase: PERSON_TEMPLATES[2](gender, role, tone),
          attributes: { kind: 'person', role, gender, tone },
          heldOut: held.gender === g && held.tone === t,
        });
      });
    });
  });

  // colour × shape
  SHAPES.forEach((shape, s) => {
    COLOURS.forEach((colour, c) => {
      const name = shapeEmojiName(colour, shape);
      const e = byName.get(name);
      if (e == null) throw new Error(`${jsonFile}: no emoji named "${name}"`);
      items.push({
        key: e.image.replace(/\.png$/, ''),
        path: image(e.image),
        captions: [SHAPE_TEMPLATES[0](colour, shape), SHAPE_TEMPLATES[1](colour, shape)],
        paraphrase: SHAPE_TEMPLATES[2](colour, shape),
          attributes: { kind: 'shape', colour, shape },
        heldOut: c === heldOutColour(s),
      });
    });
  });

  // two-person emoji × ordered tone pair ("kiss: woman, man" → "kiss, woman and man")
  const pairs = [...byName.entries()]
    .filter(([, e]) => e.skin_variations != null && Object.keys(e.skin_variations).length === 25)
    .map(([n]) => n)
    .sort();
  const subjects: string[] = [];
  for (const name of pairs) {
    const e = byName.get(name)!;
    const subject = name.replace(/: (\w+), (\w+)$/, ', $1 and $2');
    subjects.push(subject);
    for (let i = 0; i < TONES.length; i++) {
      for (let j = 0; j < TONES.length; j++) {
        const v = e.skin_variations![i === j ? TONE_CODES[i] : `${TONE_CODES[i]}-${TONE_CODES[j]}`] ?? e.skin_variations![`${TONE_CODES[i]}-${TONE_CODES[j]}`];
        if (v == null) throw new Error(`${jsonFile}: "${name}" has no ${TONES[i]}/${TONES[j]} variant`);
        items.push({
          key: v.image.replace(/\.png$/, ''),
          path: image(v.image),
          captions: [PAIR_TEMPLATES[0](subject, TONES[i], TONES[j]), PAIR_TEMPLATES[1](subject, TONES[i], TONES[j])],
          paraphrase: PAIR_TEMPLATES[2](subject, TONES[i], TONES[j]),
          attributes: { kind: 'pair', pair: subject, tone1: TONES[i], tone2: TONES[j] },
          heldOut: isHeldOutTonePair(i, j, TONES.length),
        });
      }
    }
  }
  return { name: 'emoji:google (captioned)', items, roles, pairs: subjects };
}

/** The training part (no held-out combination) and the held-out part of a set. */
export function splitHeldOut<T extends { heldOut: boolean }>(items: readonly T[]): { train: T[]; heldOut: T[] } {
  return { train: items.filter((i) => !i.heldOut), heldOut: items.filter((i) => i.heldOut) };
}
