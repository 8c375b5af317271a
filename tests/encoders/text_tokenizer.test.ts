import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTokenizer, canonicalizeSiglipText } from '@raev2/encoders';
import { writeTinyTokenizer, siglipStyle, gemmaStyle } from './text_tokenizer_files.js';

const WORDS = ['a', 'photo', 'of', 'cat', 'dog', 'red'];
const dirs: string[] = [];
const tmp = (d: string) => (dirs.push(d), d);
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Rows of a batch as plain arrays. */
const rows = (a: Int32Array, length: number) => Array.from({ length: a.length / length }, (_, i) => [...a.subarray(i * length, (i + 1) * length)]);

test('SigLIP-style tokenizer: lower-cases, drops punctuation, appends </s>, pads to max_length with the pad id', async () => {
  const tok = await loadTokenizer(tmp(writeTinyTokenizer(siglipStyle(WORDS, 'eos', { model_max_length: 8 }))));
  assert.equal(tok.padTokenId, 1);
  assert.equal(tok.vocabSize, 9);
  assert.deepEqual(tok.defaults, { maxLength: 8, padding: 'max_length', truncation: true, lowercase: true, canonicalize: true });
  const b = tok.tokenize(['A photo of a CAT.', 'a  red, dog!']);
  assert.equal(b.length, 8);
  // a=3 photo=4 of=5 cat=6 dog=7 red=8, </s>=1 (also the pad token)
  assert.deepEqual(rows(b.ids, 8), [[3, 4, 5, 3, 6, 1, 1, 1], [3, 8, 7, 1, 1, 1, 1, 1]]);
  assert.deepEqual(rows(b.mask, 8), [[1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0]]);
});

test('tokenizer options: truncation keeps the template tokens, longest padding, lowercase/canonicalize off', async () => {
  const tok = await loadTokenizer(tmp(writeTinyTokenizer(siglipStyle(WORDS))));
  assert.equal(tok.defaults.maxLength, 64);
  const cut = tok.tokenize(['a photo of a cat'], { maxLength: 4 });
  assert.deepEqual([...cut.ids], [3, 4, 5, 1], 'EOS survives truncation, as in the Rust tokenizers');
  assert.deepEqual([...cut.mask], [1, 1, 1, 1]);
  const longest = tok.tokenize(['a cat', 'a red dog'], { padding: 'longest' });
  assert.equal(longest.length, 4);
  assert.deepEqual(rows(longest.ids, 4), [[3, 6, 1, 1], [3, 8, 7, 1]]);
  const raw = tok.tokenize(['CAT.'], { lowercase: false, canonicalize: false, padding: 'longest' });
  assert.deepEqual([...raw.ids], [2, 2, 1], 'unknown upper-case word and the "." split off by the pre-tokenizer');
  assert.throws(() => tok.tokenize(['a photo of a cat'], { maxLength: 3, truncation: false }), /texts\[0\] has 6 tokens > 3/);
  assert.throws(() => tok.tokenize([]), /non-empty array/);
});

test('Gemma-style tokenizer (SigLIP-2): <bos> … <eos>, pad id 0; truncation keeps both ends', async () => {
  const tok = await loadTokenizer(tmp(writeTinyTokenizer(gemmaStyle(WORDS, { model_max_length: 6 }))), { lowercase: true });
  assert.equal(tok.padTokenId, 0);
  assert.equal(tok.defaults.canonicalize, false);
  const b = tok.tokenize(['A red cat', 'a photo of a red dog']);
  // <bos>=2 a=4 photo=5 of=6 cat=7 dog=8 red=9 <eos>=1
  assert.deepEqual(rows(b.ids, 6), [[2, 4, 9, 7, 1, 0], [2, 4, 5, 6, 4, 1]]);
  assert.deepEqual(rows(b.mask, 6), [[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]]);
});

test('canonicalizeSiglipText follows big_vision: ASCII punctuation removed, whitespace collapsed, trimmed', () => {
  assert.equal(canonicalizeSiglipText("  a photo, of a (red) dog's toy!  \n end. "), 'a photo of a red dogs toy end');
  assert.equal(canonicalizeSiglipText('café—ok'), 'café—ok', 'non-ASCII punctuation is kept, as Python string.punctuation');
});

test('a folder without tokenizer files is a clear error', async () => {
  const dir = tmp(fs.mkdtempSync(path.join(os.tmpdir(), 'tok-empty-')));
  await assert.rejects(loadTokenizer(dir), /has no tokenizer\.json.*tokenizer files/);
  const noPad = tmp(writeTinyTokenizer({ ...gemmaStyle(WORDS), config: { tokenizer_class: 'GemmaTokenizer', eos_token: '<eos>', unk_token: '<unk>' } }));
  // transformers.js falls back to the EOS token when no pad token is configured
  assert.equal((await loadTokenizer(noPad)).padTokenId, 1);
});
