/** Resolve a T2I data source to training items (and, for the emoji set, its held-out combinations). */
import { captionFolder, captionManifest, type CaptionedItem } from '../data/captioned.js';
import { emojiCaptionSet, splitHeldOut, type EmojiCaptionItem } from '../data/emoji_captions.js';

export interface T2IData {
  train: CaptionedItem[];
  /** Held-out combinations (emoji set only; never trained on, the decoder's training included). */
  heldOut: EmojiCaptionItem[];
}

/** `emoji` | `manifest:<file.jsonl>` | `folder:<dir>` → items; a user dataset trains on every item. */
export function resolveT2IData(source: string): T2IData {
  if (source === 'emoji' || source === 'emoji:google') {
    const { train, heldOut } = splitHeldOut(emojiCaptionSet().items);
    return { train, heldOut };
  }
  if (source.startsWith('manifest:')) return { train: [...captionManifest(source.slice(9)).items], heldOut: [] };
  if (source.startsWith('folder:')) return { train: [...captionFolder(source.slice(7)).items], heldOut: [] };
  throw new Error(`data "${source}": expected emoji | manifest:<file.jsonl> | folder:<dir>`);
}
