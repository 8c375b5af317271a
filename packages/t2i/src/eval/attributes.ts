/**
 * The attributes a generated emoji is scored on (docs/t2i.md): role, gender and skin tone for
 * people; colour and shape for the colour × shape emoji; the two skin tones of two-person emoji.
 * Each attribute is a classification over the values seen in the emoji caption set.
 */
import type { EmojiCaptionItem } from '../data/emoji_captions.js';

/** An attribute: the items it applies to and their value. */
export interface Attribute {
  name: string;
  kind: 'person' | 'shape' | 'pair';
  field: string;
}

export const ATTRIBUTES: Attribute[] = [
  { name: 'role', kind: 'person', field: 'role' },
  { name: 'gender', kind: 'person', field: 'gender' },
  { name: 'tone', kind: 'person', field: 'tone' },
  { name: 'colour', kind: 'shape', field: 'colour' },
  { name: 'shape', kind: 'shape', field: 'shape' },
  { name: 'pair tone 1', kind: 'pair', field: 'tone1' },
  { name: 'pair tone 2', kind: 'pair', field: 'tone2' },
];

/** Sorted distinct values of an attribute over `items`. */
export function attributeValues(a: Attribute, items: readonly EmojiCaptionItem[]): string[] {
  return [...new Set(items.filter((i) => i.attributes.kind === a.kind).map((i) => i.attributes[a.field]))].sort();
}
