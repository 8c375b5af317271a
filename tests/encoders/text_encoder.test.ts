import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '@raev2/core';
import { loadSiglipTextEncoder, disposeTextEncoding } from '@raev2/encoders';
import { fixtureDir, loadIO, maxAbsDiff, useBackend } from '../helpers/fixtures.js';
import { writeTinyTokenizer, type TinyTokenizer } from './text_tokenizer_files.js';

const ATOL = 1e-4;
const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/**
 * A model folder = the fixture's text tower + a tokenizer whose words `w<id>` map to id <id>, with no
 * template and pad id 1: the caption "w28 w20 …" tokenizes to exactly the fixture's input_ids, so
 * the TextEncoder's outputs can be checked against HF's end to end.
 */
function folderWithTokenizer(family: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${family}-`));
  dirs.push(dir);
  for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(fixtureDir(family), f), path.join(dir, f));
  const vocab: Record<string, number> = { '<unk>': 0, '</s>': 1 };
  for (let i = 2; i < 64; i++) vocab[`w${i}`] = i;
  const tok: TinyTokenizer = {
    vocab, specials: ['<unk>', '</s>'], unk: '<unk>', template: 'none',
    config: { tokenizer_class: family === 'siglip_text' ? 'SiglipTokenizer' : 'GemmaTokenizer', pad_token: '</s>', unk_token: '<unk>', model_max_length: 64 },
  };
  writeTinyTokenizer(tok, dir);
  return dir;
}

for (const family of ['siglip_text', 'siglip2_text']) {
  test(`${family}: TextEncoder tokens / mask / pooled equal HF's outputs for the same ids (maskPadding off and on)`, async () => {
    await useBackend('wasm');
    const io = loadIO(family);
    const ids = io.get('input_ids_int32')!.arraySync() as number[][];
    // sample 1 ends with 4 pad ids (1): its caption has 8 words and is padded by the tokenizer
    const captions = ids.map((row) => row.filter((id) => id !== 1).map((id) => `W${id}`).join(' ')); // upper case: lower-cased on the way
    const before = tf.memory().numTensors;
    const enc = await loadSiglipTextEncoder(folderWithTokenizer(family), { maxLength: 12 });
    assert.equal(enc.hiddenSize, 32);
    assert.equal(enc.pooledSize, 24);
    assert.equal(enc.maxLength, 12);
    const e = enc.encode(captions);
    assert.deepEqual(e.tokens.shape, [2, 12, 32]);
    assert.equal(e.mask.dtype, 'float32');
    assert.deepEqual(e.mask.arraySync(), io.get('attention_mask_int32')!.arraySync());
    const d1 = maxAbsDiff(e.tokens, io.get('last_hidden_state')!);
    const d2 = maxAbsDiff(e.pooled, io.get('pooler_output')!);
    disposeTextEncoding(e);
    enc.dispose();
    const masked = await loadSiglipTextEncoder(folderWithTokenizer(family), { maxLength: 12, maskPadding: true });
    const m = masked.encode(captions);
    const d3 = maxAbsDiff(m.tokens, io.get('masked.last_hidden_state')!);
    const d4 = maxAbsDiff(m.pooled, io.get('masked.pooler_output')!);
    disposeTextEncoding(m);
    masked.dispose();
    console.log(`  [${family}] tokens ${d1.toExponential(2)}, pooled ${d2.toExponential(2)}, masked tokens ${d3.toExponential(2)}, masked pooled ${d4.toExponential(2)}`);
    for (const d of [d1, d2, d3, d4]) assert.ok(d <= ATOL, `max abs diff ${d}`);
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    for (const t of io.values()) t.dispose();
  });
}

test('TextEncoder: a max length beyond the position table and a missing tokenizer are clear errors', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  await assert.rejects(loadSiglipTextEncoder(folderWithTokenizer('siglip_text'), { maxLength: 64 }), /maxLength 64 exceeds the text tower's max_position_embeddings 12/);
  await assert.rejects(loadSiglipTextEncoder(fixtureDir('siglip_text')), /has no tokenizer\.json/);
  assert.equal(tf.memory().numTensors, before, 'failed loads release the model');
});
