/**
 * Tiny but valid `tokenizer.json` + `tokenizer_config.json` folders for tests (the fixtures ship no
 * tokenizer; real SigLIP / SigLIP-2 checkpoints ship their own 32k SentencePiece / 256k Gemma ones).
 * A WordLevel model over whitespace-split words, with an optional post-processor template.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TinyTokenizer {
  /** token → id; special tokens included. */
  vocab: Record<string, number>;
  specials: string[];
  unk: string;
  /** Post-processor: none, `A </s>` (SigLIP), or `<bos> A <eos>`. */
  template: 'none' | 'eos' | 'bos_eos';
  eos?: string;
  bos?: string;
  /** tokenizer_config.json content. */
  config: Record<string, unknown>;
}

function added(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

function template(t: TinyTokenizer) {
  if (t.template === 'none') return null;
  const seq = (id: string) => ({ Sequence: { id, type_id: 0 } });
  const special = (id: string) => ({ SpecialToken: { id, type_id: 0 } });
  const pre = t.template === 'bos_eos' ? [special(t.bos!)] : [];
  const specials = Object.fromEntries([t.eos!, ...(t.template === 'bos_eos' ? [t.bos!] : [])].map((s) => [s, { id: s, ids: [t.vocab[s]], tokens: [s] }]));
  return {
    type: 'TemplateProcessing',
    single: [...pre, seq('A'), special(t.eos!)],
    pair: [...pre, seq('A'), special(t.eos!), seq('B'), special(t.eos!)],
    special_tokens: specials,
  };
}

/** Write the two tokenizer files into `dir` (created when missing); returns dir. */
export function writeTinyTokenizer(t: TinyTokenizer, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tok-'))): string {
  fs.mkdirSync(dir, { recursive: true });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: t.specials.map((s) => added(t.vocab[s], s)),
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    model: { type: 'WordLevel', vocab: t.vocab, unk_token: t.unk },
    post_processor: template(t),
    decoder: null,
  };
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(t.config));
  return dir;
}

/** SigLIP-1 layout: <pad> 0, </s> 1 (EOS and pad), <unk> 2, then words. */
export function siglipStyle(words: string[], template: TinyTokenizer['template'] = 'eos', config: Record<string, unknown> = {}): TinyTokenizer {
  const vocab: Record<string, number> = { '<pad>': 0, '</s>': 1, '<unk>': 2 };
  words.forEach((w, i) => (vocab[w] = 3 + i));
  return {
    vocab, specials: ['<pad>', '</s>', '<unk>'], unk: '<unk>', template, eos: '</s>',
    config: { tokenizer_class: 'SiglipTokenizer', pad_token: '</s>', eos_token: '</s>', unk_token: '<unk>', model_max_length: 64, do_lower_case: true, ...config },
  };
}

/** Gemma layout (SigLIP-2): <pad> 0, <eos> 1, <bos> 2, <unk> 3, then words; `<bos> A <eos>`. */
export function gemmaStyle(words: string[], config: Record<string, unknown> = {}): TinyTokenizer {
  const vocab: Record<string, number> = { '<pad>': 0, '<eos>': 1, '<bos>': 2, '<unk>': 3 };
  words.forEach((w, i) => (vocab[w] = 4 + i));
  return {
    vocab, specials: ['<pad>', '<eos>', '<bos>', '<unk>'], unk: '<unk>', template: 'bos_eos', eos: '<eos>', bos: '<bos>',
    config: { tokenizer_class: 'GemmaTokenizer', pad_token: '<pad>', eos_token: '<eos>', bos_token: '<bos>', unk_token: '<unk>', model_max_length: 64, ...config },
  };
}
