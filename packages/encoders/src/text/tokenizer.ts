/**
 * Tokenizers for text towers, loaded from a model folder's `tokenizer.json` + `tokenizer_config.json`
 * through `@huggingface/transformers` (real checkpoints ship their own: SigLIP-2 a 256k-vocab Gemma
 * tokenizer, SigLIP a SentencePiece model converted to `tokenizer.json`). Padding and truncation
 * follow the upstream processors: SigLIP pads to `max_length` (64) and pools the last position, so
 * every sequence must have the same length; truncation keeps the template's special tokens (EOS),
 * as the Rust tokenizers truncate before post-processing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf, type Tensor } from '@raev2/core';
import { z } from 'zod';

export interface TokenizeOptions {
  /** Sequence length for padding / truncation (SigLIP: 64). */
  maxLength?: number;
  /** 'max_length' pads every sequence to maxLength (SigLIP); 'longest' to the longest in the batch. */
  padding?: 'max_length' | 'longest';
  /** Cut sequences longer than maxLength (keeping the template's special tokens). Default true. */
  truncation?: boolean;
  /** Lower-case the text first (both SigLIP generations were trained on lower-cased text). */
  lowercase?: boolean;
  /** SigLIP-1's canonicalisation: drop ASCII punctuation, collapse whitespace, trim. */
  canonicalize?: boolean;
}

/** A tokenized batch on the host; ids and mask are row-major [batch, length]. */
export interface TokenBatch {
  ids: Int32Array;
  /** 1 = real token, 0 = padding. */
  mask: Int32Array;
  batch: number;
  length: number;
}

export interface TextTokenizer {
  /** The folder it was loaded from. */
  readonly source: string;
  readonly padTokenId: number;
  readonly vocabSize: number;
  /** Defaults applied when tokenize() gets no options. */
  readonly defaults: Required<TokenizeOptions>;
  tokenize(texts: string[], opts?: TokenizeOptions): TokenBatch;
}

/** The subset of a transformers.js tokenizer this module uses. */
interface HFTokenizer {
  encode(text: string, opts?: { add_special_tokens?: boolean }): number[];
  pad_token_id: number | undefined | null;
  get_vocab(): Map<string, number> | Record<string, number>;
}

const ConfigSchema = z.looseObject({
  tokenizer_class: z.string().optional(),
  model_max_length: z.number().optional(),
  do_lower_case: z.boolean().optional(),
});

/** [B, L] int32 ids and mask tensors of a batch. */
export function batchTensors(b: TokenBatch): { inputIds: Tensor; attentionMask: Tensor } {
  return { inputIds: tf.tensor2d(b.ids, [b.batch, b.length], 'int32'), attentionMask: tf.tensor2d(b.mask, [b.batch, b.length], 'int32') };
}

/** SigLIP-1's text canonicalisation (big_vision `prompt_engineering`): no punctuation, single spaces, trimmed. */
export function canonicalizeSiglipText(text: string): string {
  return text.replace(/[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g, '').replace(/\s+/g, ' ').trim();
}

/**
 * Load a tokenizer from a local model folder (never the network). Defaults: padding 'max_length',
 * truncation on, maxLength = tokenizer_config `model_max_length` when finite else 64; lowercase from
 * `do_lower_case` (else on for the SigLIP / SigLIP-2 tokenizer classes), canonicalisation for SigLIP's
 * class; `overrides` win (the SigLIP-2 text encoder forces lowercase: its hub tokenizer is a plain Gemma one).
 */
export async function loadTokenizer(folder: string, overrides: TokenizeOptions = {}): Promise<TextTokenizer> {
  const dir = path.resolve(folder);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
    if (!fs.existsSync(path.join(dir, f))) {
      throw new Error(`${dir} has no ${f}: a text tower needs its checkpoint's tokenizer files (tokenizer.json and tokenizer_config.json; SigLIP's spiece.model must be converted to tokenizer.json)`);
    }
  }
  const cfgFile = path.join(dir, 'tokenizer_config.json');
  const cfg = ConfigSchema.safeParse(JSON.parse(fs.readFileSync(cfgFile, 'utf8')));
  if (!cfg.success) throw new Error(`invalid ${cfgFile}: ${cfg.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const { AutoTokenizer } = await import('@huggingface/transformers');
  let tok: HFTokenizer;
  try {
    tok = (await AutoTokenizer.from_pretrained(dir, { local_files_only: true })) as unknown as HFTokenizer;
  } catch (e) {
    throw new Error(`cannot load the tokenizer in ${dir}: ${(e as Error).message}`);
  }
  const cls = cfg.data.tokenizer_class ?? '';
  const isSiglip1 = /^SiglipTokenizer/.test(cls);
  const maxLen = cfg.data.model_max_length;
  const defaults: Required<TokenizeOptions> = {
    maxLength: maxLen != null && maxLen > 0 && maxLen < 1e6 ? maxLen : 64,
    padding: 'max_length',
    truncation: true,
    lowercase: cfg.data.do_lower_case ?? (isSiglip1 || /^Siglip2Tokenizer/.test(cls)),
    canonicalize: isSiglip1,
    ...stripUndefined(overrides),
  };
  if (tok.pad_token_id == null) throw new Error(`${cfgFile}: the tokenizer has no pad token (set "pad_token"), which fixed-length padding needs`);
  const vocab = tok.get_vocab();
  const vocabSize = vocab instanceof Map ? vocab.size : Object.keys(vocab).length;
  return {
    source: dir,
    padTokenId: tok.pad_token_id,
    vocabSize,
    defaults,
    tokenize: (texts, opts = {}) => tokenizeBatch(tok, texts, { ...defaults, ...stripUndefined(opts) }),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Encode, truncate (keeping special tokens) and pad a batch. */
function tokenizeBatch(tok: HFTokenizer, texts: string[], o: Required<TokenizeOptions>): TokenBatch {
  if (!Array.isArray(texts) || texts.length === 0) throw new Error('tokenize: expected a non-empty array of strings');
  if (!(Number.isInteger(o.maxLength) && o.maxLength > 0)) throw new Error(`tokenize: maxLength must be a positive integer, got ${o.maxLength}`);
  const seqs = texts.map((raw, i) => {
    if (typeof raw !== 'string') throw new Error(`tokenize: texts[${i}] is not a string`);
    let text = o.lowercase ? raw.toLowerCase() : raw;
    if (o.canonicalize) text = canonicalizeSiglipText(text);
    const full = tok.encode(text);
    return o.truncation && full.length > o.maxLength ? truncateKeepingSpecials(full, tok.encode(text, { add_special_tokens: false }), o.maxLength) : full;
  });
  const length = o.padding === 'max_length' ? o.maxLength : Math.max(...seqs.map((s) => s.length));
  const tooLong = seqs.findIndex((s) => s.length > length);
  if (tooLong >= 0) throw new Error(`tokenize: texts[${tooLong}] has ${seqs[tooLong].length} tokens > ${length}; enable truncation or raise maxLength`);
  const ids = new Int32Array(texts.length * length).fill(tok.pad_token_id as number);
  const mask = new Int32Array(texts.length * length);
  seqs.forEach((s, b) => {
    ids.set(s, b * length);
    mask.fill(1, b * length, b * length + s.length);
  });
  return { ids, mask, batch: texts.length, length };
}

/** full = prefix ++ plain ++ suffix (the post-processor's template); cut plain so the whole fits in n. */
function truncateKeepingSpecials(full: number[], plain: number[], n: number): number[] {
  const extra = full.length - plain.length;
  let start = -1;
  for (let k = 0; k <= extra && start < 0; k++) if (plain.every((v, i) => full[k + i] === v)) start = k;
  if (start < 0) return full.slice(0, n); // template is not prefix/suffix shaped: plain cut
  const keep = Math.max(0, n - extra);
  return [...full.slice(0, start), ...plain.slice(0, keep), ...full.slice(start + plain.length)].slice(0, n);
}
