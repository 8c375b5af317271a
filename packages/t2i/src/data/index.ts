/** Captioned datasets: folder + .txt, JSONL manifest, and the offline compositional emoji set. */
export { captionManifest, captionFolder, distinctCaptions, CaptionLineSchema, type CaptionedItem, type CaptionedDataset } from './captioned.js';
export {
  emojiCaptionSet, splitHeldOut, GENDERS, TONES, COLOURS, SHAPES, PERSON_TEMPLATES, SHAPE_TEMPLATES, PAIR_TEMPLATES,
  type EmojiCaptionItem, type EmojiCaptionSet,
} from './emoji_captions.js';
export { heldOutPersonCell, heldOutColour, isHeldOutTonePair } from './heldout.js';
