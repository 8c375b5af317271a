import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '@raev2/core';
import { loadTokenizer, loadSiglipTextModel } from '@raev2/encoders';
import {
  buildVocab, writeWordTokenizer, createTextTower, towerConfigJson, TowerShapeSchema, saveTextTower, loadTextEncoder,
  sigmoidLoss, retrievalTop1, TextConditioner, parseTextEncoderSpec,
} from '@raev2/t2i';
import { useBackend } from '../helpers/fixtures.js';

const dirs: string[] = [];
const sum = (t: tf.Tensor): number => Array.from(t.dataSync()).reduce((a, v) => a + v, 0);
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
before(() => useBackend('wasm'));

const CORPUS = ['woman firefighter, medium-dark skin tone', 'a man cook with light skin', 'red heart', 'blue circle'];
const SHAPE = TowerShapeSchema.parse({ hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, projection_size: 16, max_position_embeddings: 64 });

/** A tower folder (random weights) written the way `t2i text-tower train` writes it. */
function towerFolder(): { dir: string; vocab: Record<string, number> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 't2i-tower-'));
  dirs.push(dir);
  const vocab = buildVocab(CORPUS);
  const n = writeWordTokenizer(dir, vocab);
  const tower = createTextTower(towerConfigJson(SHAPE, n, { pad: 0, eos: 1 }), 3);
  saveTextTower(dir, towerConfigJson(SHAPE, n, { pad: 0, eos: 1 }), tower);
  tower.dispose();
  return { dir, vocab };
}

test('corpus tokenizer: AutoTokenizer loads it; lower case, EOS appended, right-padded to 64 with <pad>', async () => {
  const { dir, vocab } = towerFolder();
  const tok = await loadTokenizer(dir);
  assert.equal(tok.vocabSize, Object.keys(vocab).length);
  const b = tok.tokenize(['Woman Firefighter, medium-dark skin tone', '']);
  assert.equal(b.length, 64);
  const want = ['woman', 'firefighter', ',', 'medium', '-', 'dark', 'skin', 'tone'].map((w) => vocab[w]);
  assert.deepEqual([...b.ids.slice(0, 10)], [...want, vocab['<eos>'], vocab['<pad>']]);
  assert.equal(b.mask.slice(0, 64).reduce((s, v) => s + v, 0), 9);
  // the empty prompt is just EOS
  assert.deepEqual([...b.ids.slice(64, 66)], [vocab['<eos>'], vocab['<pad>']]);
  assert.equal(b.mask.slice(64).reduce((s, v) => s + v, 0), 1);
  // an unseen word is <unk>
  assert.equal(tok.tokenize(['zebra']).ids[0], vocab['<unk>']);
});

test('the saved tower loads through the SigLIP-2 checkpoint path with identical outputs, and through loadTextEncoder', async () => {
  const { dir } = towerFolder();
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(cfg.model_type, 'siglip2_text_model');
  const a = createTextTower(cfg, 3); // the same seed → the same weights as the saved ones
  const b = loadSiglipTextModel(dir);
  const ids = tf.tensor2d([[5, 6, 7, 1, ...new Array(60).fill(0)]], [1, 64], 'int32');
  const oa = a.forward(ids), ob = b.forward(ids);
  assert.deepEqual([...oa.lastHiddenState.dataSync()], [...ob.lastHiddenState.dataSync()]);
  assert.deepEqual([...oa.poolerOutput.dataSync()], [...ob.poolerOutput.dataSync()]);
  const enc = await loadTextEncoder(`hf:${dir}`);
  const e = enc.encode(['red heart']);
  assert.deepEqual(e.tokens.shape, [1, 64, SHAPE.hidden_size]);
  tf.dispose([ids, e.tokens, e.mask, e.pooled, oa.lastHiddenState, oa.poolerOutput, ob.lastHiddenState, ob.poolerOutput, ...oa.hiddenStates, ...ob.hiddenStates]);
  a.dispose();
  b.dispose();
  enc.dispose();
});

test('a tower whose vocabulary does not match its tokenizer is refused, naming both files', async () => {
  const { dir } = towerFolder();
  const cfgFile = path.join(dir, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, vocab_size: cfg.vocab_size + 5 }));
  await assert.rejects(loadTextEncoder(dir), (e: Error) => /tokenizer\.json has \d+ tokens but .*config\.json says vocab_size \d+/.test(e.message));
});

test('an over-long prompt is truncated to the tower length with a warning naming the dropped token count', async () => {
  const { dir } = towerFolder();
  const enc = await loadTextEncoder(dir);
  const warnings: string[] = [];
  const onWarn = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarn);
  const long = Array.from({ length: 70 }, () => 'red').join(' '); // 70 words + EOS = 71 tokens
  const e = enc.encode([long, 'red heart']);
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarn);
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], /has 71 tokens; truncated to 64 \(7 dropped\)/);
  assert.equal(sum(e.mask), 64 + 3);
  tf.dispose([e.tokens, e.mask, e.pooled]);
  enc.dispose();
});

test('text condition: tokens are the tower features, pads masked, pooled token optional, empty prompt = null condition, cached once', async () => {
  const { dir } = towerFolder();
  const enc = await loadTextEncoder(dir);
  const n0 = tf.memory().numTensors;
  const ref = enc.encode(['red heart', '']);
  const c = new TextConditioner(enc);
  const cond = c.condition(['red heart', 'red heart']);
  assert.deepEqual(cond.tokens!.shape, [2, 64, SHAPE.hidden_size]);
  const refTok = ref.tokens.dataSync(), got = cond.tokens!.dataSync();
  const per = 64 * SHAPE.hidden_size;
  for (const row of [0, 1]) assert.deepEqual([...got.slice(row * per, (row + 1) * per)], [...refTok.slice(0, per)]);
  assert.deepEqual([...cond.mask!.dataSync().slice(0, 4)], [1, 1, 1, 0], 'red heart </s> then pads masked');
  assert.equal(c.cached, 1, 'one distinct caption encoded');
  const nul = c.nullCondition(1);
  assert.deepEqual([...nul.tokens!.dataSync()], [...refTok.slice(per, 2 * per)], 'null condition = the empty prompt encoded');
  assert.equal(sum(nul.mask!), 1);
  const unmasked = new TextConditioner(enc, { maskPads: false, keepPooled: true });
  const u = unmasked.condition(['red heart']);
  assert.deepEqual(u.tokens!.shape, [1, 65, SHAPE.hidden_size]);
  assert.equal(sum(u.mask!), 65, 'nothing masked');
  assert.deepEqual([...u.tokens!.dataSync().slice(per)], [...ref.pooled.dataSync().slice(0, SHAPE.hidden_size)], 'pooled vector appended');
  tf.dispose([ref.tokens, ref.mask, ref.pooled, cond.tokens!, cond.mask!, nul.tokens!, nul.mask!, u.tokens!, u.mask!]);
  assert.equal(tf.memory().numTensors, n0, 'no tensor leak');
  enc.dispose();
});

test('sigmoid loss matches a float64 recomputation; retrieval top-1 counts diagonal hits', () => {
  const b = 5, p = 3;
  const x = Array.from({ length: b * p }, (_, i) => Math.sin(i * 1.7) + 0.1), y = Array.from({ length: b * p }, (_, i) => Math.cos(i * 0.9));
  const t = Math.log(10), bias = -10;
  const norm = (v: number[], i: number) => { const r = v.slice(i * p, (i + 1) * p); const n = Math.hypot(...r); return r.map((a) => a / n); };
  let want = 0;
  for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) {
    const xi = norm(x, i), yj = norm(y, j);
    const z = Math.exp(t) * xi.reduce((s, a, k) => s + a * yj[k], 0) + bias;
    const label = i === j ? 1 : -1;
    want += Math.log1p(Math.exp(-label * z));
  }
  want /= b;
  const n0 = tf.memory().numTensors;
  const [xt, yt, ts, bs] = [tf.tensor2d(x, [b, p]), tf.tensor2d(y, [b, p]), tf.scalar(t), tf.scalar(bias)];
  const loss = sigmoidLoss(xt, yt, ts, bs);
  assert.ok(Math.abs(loss.dataSync()[0] - want) < 1e-4 * Math.abs(want), `${loss.dataSync()[0]} vs ${want}`);
  // retrieval: texts = images except rows 3 and 4 swapped → 3 of 5 hits both ways
  const img = tf.tensor2d([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1]]);
  const txt = tf.tensor2d([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 1], [1, 1, 0]]);
  const r = retrievalTop1(img, txt);
  assert.deepEqual([r.imageToText, r.textToImage, r.chance], [0.6, 0.6, 0.2]);
  tf.dispose([xt, yt, ts, bs, loss, img, txt]);
  assert.equal(tf.memory().numTensors, n0);
});

test('text encoder spec strings', () => {
  assert.deepEqual(parseTextEncoderSpec('hf:/a/b[mask]'), { name: 'hf:/a/b', options: { mask: true } });
  assert.throws(() => parseTextEncoderSpec('x[a'), /expected name/);
  return assert.rejects(loadTextEncoder('no-such-tower'), /unknown text encoder "no-such-tower"; registered: .*hf:\*/);
});
