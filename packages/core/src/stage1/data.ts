/**
 * Stage-1 data sources by name: `folder:<path>`, `manifest:<file.jsonl>`, `emoji:<style>[,<style>…]`
 * (a bare path is a folder, or a manifest when it ends in .jsonl), and the train / held-out split.
 */
import { arrayDataset, splitDataset, subset, type DatasetItem, type ImageDataset } from '../data/dataset.js';
import { imageFolder } from '../data/folder.js';
import { jsonlManifest } from '../data/manifest.js';
import { EMOJI_STYLES, emojiDataset, type EmojiStyle } from '../data/emoji.js';

export const DATA_SOURCE_HELP = 'folder:<path> | manifest:<file.jsonl> | emoji:google[,twitter,apple,facebook]';

/** Open a data source (errors name the source and what is wrong with it). */
export function openDataSource(source: string): ImageDataset {
  const m = /^(folder|manifest|emoji):(.*)$/.exec(source);
  const kind = m ? m[1] : source.endsWith('.jsonl') ? 'manifest' : 'folder';
  const arg = m ? m[2] : source;
  if (arg === '') throw new Error(`data source "${source}": nothing after "${kind}:" (expected ${DATA_SOURCE_HELP})`);
  if (kind === 'folder') return imageFolder(arg);
  if (kind === 'manifest') return jsonlManifest(arg);
  const styles = arg.split(',').map((s) => s.trim());
  for (const s of styles) if (!(EMOJI_STYLES as readonly string[]).includes(s)) throw new Error(`data source "${source}": unknown emoji style "${s}" (known: ${EMOJI_STYLES.join(', ')})`);
  const parts = styles.map((s) => emojiDataset({ style: s as EmojiStyle }));
  if (parts.length === 1) return parts[0];
  const items: DatasetItem[] = parts.flatMap((p) => Array.from({ length: p.size }, (_, i) => ({ ...p.get(i), key: `${p.name}/${p.get(i).key}` })));
  return arrayDataset(`emoji-${styles.join('+')}`, items);
}

/** The training and held-out parts for a stage-1 run: `heldOut` as in `splitDataset`, `maxImages` caps the training part. */
export function stage1Split(ds: ImageDataset, heldOut: number, splitSeed: number, maxImages?: number): { train: ImageDataset; heldOut: ImageDataset | null } {
  let train = ds, held: ImageDataset | null = null;
  if (heldOut > 0) {
    const s = splitDataset(ds, { heldOut, seed: splitSeed });
    train = s.train;
    held = s.heldOut;
  }
  if (maxImages != null && maxImages < train.size) train = subset(train, Array.from({ length: maxImages }, (_, i) => i), `${train.name} (first ${maxImages})`);
  return { train, heldOut: held };
}
