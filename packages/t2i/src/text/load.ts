/**
 * Loading a SigLIP / SigLIP-2 text tower with its tokenizer, checked before use: the tokenizer's
 * vocabulary must be the tower's `vocab_size` (a tower trained with another tokenizer would read
 * wrong ids), and a prompt longer than the tower's length is truncated with a warning that names
 * how many tokens were dropped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { loadSiglipTextEncoder, loadTokenizer, resolveModelFolder, parseSiglipTextConfig, type TextEncoder, type TextEncoding, type TextTokenizer } from '@raev2/encoders';

/** Throws when `dir`'s tokenizer and text config disagree on the vocabulary size (naming both files). */
export async function checkTokenizerMatchesTower(dir: string): Promise<TextTokenizer> {
  const cfgFile = path.join(dir, 'config.json');
  if (!fs.existsSync(cfgFile)) throw new Error(`${dir} has no config.json`);
  const cfg = parseSiglipTextConfig(JSON.parse(fs.readFileSync(cfgFile, 'utf8')), cfgFile);
  const tok = await loadTokenizer(dir, { lowercase: true });
  if (tok.vocabSize !== cfg.vocab_size) {
    throw new Error(`${path.join(dir, 'tokenizer.json')} has ${tok.vocabSize} tokens but ${cfgFile} says vocab_size ${cfg.vocab_size}: the text tower was not trained with this tokenizer`);
  }
  return tok;
}

/** A text encoder that warns (through `warn`) when a prompt is cut to the tower's length. */
export function withTruncationWarning(enc: TextEncoder, tokenizer: TextTokenizer, warn: (msg: string) => void = (m) => process.emitWarning(m)): TextEncoder {
  return {
    ...enc,
    encode(texts: string[]): TextEncoding {
      const full = tokenizer.tokenize(texts, { truncation: false, padding: 'longest', maxLength: enc.maxLength });
      for (let b = 0; b < full.batch; b++) {
        let n = 0;
        for (let i = 0; i < full.length; i++) n += full.mask[b * full.length + i];
        if (n > enc.maxLength) warn(`prompt ${JSON.stringify(texts[b].length > 60 ? texts[b].slice(0, 57) + '...' : texts[b])} has ${n} tokens; truncated to ${enc.maxLength} (${n - enc.maxLength} dropped)`);
      }
      return enc.encode(texts);
    },
    dispose: () => enc.dispose(),
  };
}

export const LoadTextOptionsSchema = z.object({ maskPadding: z.boolean().default(false) }).strict();

/** An HF folder / hub id → a checked SigLIP text encoder (vocabulary checked, truncation warned). */
export async function loadCheckedSiglipTextEncoder(folderOrId: string, opts: z.input<typeof LoadTextOptionsSchema> = {}): Promise<TextEncoder> {
  const o = LoadTextOptionsSchema.parse(opts);
  const dir = await resolveModelFolder(folderOrId, { extraFiles: ['tokenizer.json', 'tokenizer_config.json'] });
  const tok = await checkTokenizerMatchesTower(dir);
  const enc = await loadSiglipTextEncoder(dir, { maskPadding: o.maskPadding });
  return withTruncationWarning({ ...enc, name: folderOrId }, tok);
}
