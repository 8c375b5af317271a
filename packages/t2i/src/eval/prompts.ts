/**
 * The evaluation prompt sets (docs/t2i.md): seen prompts (training captions of every `stride`-th
 * training image), held-out combinations (every held-out image's first caption: combinations
 * never trained on) and paraphrases (the held-back third template of the seen images).
 */
import type { EmojiCaptionItem } from '../data/emoji_captions.js';

export interface PromptSet {
  name: 'seen' | 'held-out' | 'paraphrase';
  prompts: string[];
  /** The item each prompt describes (its attributes are the targets). */
  items: EmojiCaptionItem[];
}

export function promptSets(train: readonly EmojiCaptionItem[], heldOut: readonly EmojiCaptionItem[], stride = 8): PromptSet[] {
  const seen = train.filter((_, i) => i % stride === 0);
  return [
    { name: 'seen', prompts: seen.map((i) => i.captions[0]), items: seen },
    { name: 'held-out', prompts: heldOut.map((i) => i.captions[0]), items: [...heldOut] },
    { name: 'paraphrase', prompts: seen.map((i) => i.paraphrase), items: seen },
  ];
}
