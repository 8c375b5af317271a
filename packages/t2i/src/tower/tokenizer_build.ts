/**
 * A word-level tokenizer built from a caption corpus, written as a Hugging Face `tokenizer.json` +
 * `tokenizer_config.json` that `AutoTokenizer` (transformers / transformers.js) loads. It follows
 * the SigLIP-2 processor's conventions: lower-cased text, no BOS, an EOS appended after the
 * words, right padding to 64 tokens with the pad token (docs/t2i.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '@raev2/core';

/** Special tokens and their ids (fixed: pad 0, eos 1, unk 2). */
export const SPECIAL_TOKENS = { pad: '<pad>', eos: '<eos>', unk: '<unk>' } as const;

/** Words as the tokenizer's pre-tokenizer splits them (`Whitespace`: runs of \w, or of other non-space characters). */
export function splitWords(text: string): string[] {
  return text.toLowerCase().match(/\w+|[^\w\s]+/g) ?? [];
}

/** The vocabulary of a corpus: specials, then words sorted by descending count, ties alphabetically. */
export function buildVocab(captions: readonly string[], opts: { minCount?: number } = {}): Record<string, number> {
  const counts = new Map<string, number>();
  for (const c of captions) for (const w of splitWords(c)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const words = [...counts.entries()].filter(([, n]) => n >= (opts.minCount ?? 1)).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([w]) => w);
  const vocab: Record<string, number> = {};
  for (const s of [SPECIAL_TOKENS.pad, SPECIAL_TOKENS.eos, SPECIAL_TOKENS.unk]) vocab[s] = Object.keys(vocab).length;
  for (const w of words) vocab[w] = Object.keys(vocab).length;
  return vocab;
}

const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

/** Write `tokenizer.json` and `tokenizer_config.json` for `vocab` into `dir` (atomic); returns the vocabulary size. */
export function writeWordTokenizer(dir: string, vocab: Record<string, number>, opts: { maxLength?: number } = {}): number {
  fs.mkdirSync(dir, { recursive: true });
  const { pad, eos, unk } = SPECIAL_TOKENS;
  for (const s of [pad, eos, unk]) if (vocab[s] == null) throw new Error(`the vocabulary has no ${s} token`);
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [pad, eos, unk].map((s) => special(vocab[s], s)),
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'Whitespace' },
    model: { type: 'WordLevel', vocab, unk_token: unk },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: eos, type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: eos, type_id: 0 } }, { Sequence: { id: 'B', type_id: 0 } }, { SpecialToken: { id: eos, type_id: 0 } }],
      special_tokens: { [eos]: { id: eos, ids: [vocab[eos]], tokens: [eos] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  };
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: opts.maxLength ?? 64,
    do_lower_case: true,
    padding_side: 'right',
    pad_token: pad,
    eos_token: eos,
    unk_token: unk,
    model_input_names: ['input_ids'],
  };
  writeFileAtomic(path.join(dir, 'tokenizer.json'), JSON.stringify(json, null, 1) + '\n');
  writeFileAtomic(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
  return Object.keys(vocab).length;
}
