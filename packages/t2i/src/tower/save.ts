/**
 * The trained tower as a Hugging Face model folder — `config.json` (siglip2_text_model),
 * `model.safetensors` (`text_model.*` keys), `tokenizer.json` + `tokenizer_config.json` — loadable
 * exactly like a Google SigLIP-2 text checkpoint; the locked-image head (image features → P, t', b)
 * sits beside it in `image_head.safetensors` for retrieval evaluation.
 */
import * as path from 'node:path';
import { saveSafetensors, writeFileAtomic } from '@raev2/core';
import type { SiglipTextModel } from '@raev2/encoders';
import type { LockedImageHead } from './tower.js';

export const IMAGE_HEAD_FILE = 'image_head.safetensors';

/** Write config.json + model.safetensors (+ the image head) into `dir`; tokenizer files are written by writeWordTokenizer. */
export function saveTextTower(dir: string, config: Record<string, unknown>, tower: SiglipTextModel, head?: LockedImageHead, meta: Record<string, string> = {}): void {
  writeFileAtomic(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  saveSafetensors(path.join(dir, 'model.safetensors'), tower.stateDict(), { metadata: { format: 'pt', ...meta } });
  if (head) saveSafetensors(path.join(dir, IMAGE_HEAD_FILE), head.stateDict(), { metadata: { format: 'pt', featureDim: String(head.featureDim), ...meta } });
}
