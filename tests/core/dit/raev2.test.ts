import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as fs from 'node:fs';
import {
  tf, loadDiT, createDiT, ditConfigFromUpstream, loadSafetensors, tokensFromNCHW, modelDenoiser, cfgGuidance,
  freeGuidance, ropeTable, type Tensor, type Denoiser,
} from '@raev2/core';
import { fixtureDir, loadIO, maxAbsDiff, testBackends, useBackend } from '../../helpers/fixtures.js';

const ATOL = 1e-4;
const tok = (x: Tensor) => tokensFromNCHW(x);

/** Compare a guided half [B, …] against a fixture doubled output (the guided half repeated). */
function diffDoubled(half: Tensor, ref: Tensor): number {
  const [a, b] = tf.split(ref, 2, 0);
  const d = Math.max(maxAbsDiff(half, a), maxAbsDiff(half, b));
  tf.dispose([a, b]);
  return d;
}

for (const backend of testBackends()) {
  test(`raev2_ddt_ig fixture: full/base outputs, free guidance, CFG and free+CFG match upstream (${backend})`, async () => {
    await useBackend(backend);
    const io = loadIO('raev2_ddt_ig');
    const before = tf.memory().numTensors;
    const model = loadDiT(fixtureDir('raev2_ddt_ig'));
    assert.equal(model.prediction, 'x');
    const x = tok(io.get('x')!), t = io.get('t')!, labels = io.get('context_int32')!;
    const cond = { labels };
    const out = model.forward(x, t, cond);
    const d: Record<string, number> = {};
    const refFull = tok(io.get('output.full')!), refBase = tok(io.get('output.base')!);
    d['output.full'] = maxAbsDiff(out.full, refFull);
    d['output.base'] = maxAbsDiff(out.base!, refBase);
    // guidance wrappers; the fixture's doubled batch is [x; x] with [labels; null], t = [t; t]
    const den: Denoiser = modelDenoiser(model);
    const nullCond = (b: number) => model.nullCondition(b);
    const ig = freeGuidance(den, { scale: 1.78, interval: [0.1, 1] });
    const cfg = cfgGuidance(den, { scale: 1.5, interval: [0, 1], nullCond });
    const igCfg = cfgGuidance(ig, { scale: 1.5, interval: [0, 1], nullCond });
    const outs = { 'ig.output': ig(x, t, cond), 'cfg.output': cfg(x, t, cond), 'ig_cfg.output': igCfg(x, t, cond) };
    const refs: Tensor[] = [refFull, refBase, x];
    for (const [k, o] of Object.entries(outs)) {
      const ref = tok(io.get(k)!);
      refs.push(ref, o.full);
      d[k] = diffDoubled(o.full, ref);
    }
    console.log(`  [${backend}] max abs diffs: ${Object.entries(d).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
    for (const [k, v] of Object.entries(d)) assert.ok(v <= ATOL, `${k}: ${v} > ${ATOL}`);
    tf.dispose([...refs, out.full, out.base!]);
    model.dispose();
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    for (const v of io.values()) v.dispose();
  });
}

test('raev2_ddt_ig: a fresh model has exactly the upstream keys and shapes; generated RoPE tables equal the stored buffers', async () => {
  await useBackend('cpu');
  const cfg = ditConfigFromUpstream(JSON.parse(fs.readFileSync(path.join(fixtureDir('raev2_ddt_ig'), 'config.json'), 'utf8')));
  const sd = loadSafetensors(path.join(fixtureDir('raev2_ddt_ig'), 'model.safetensors'));
  const model = createDiT(cfg);
  const mine = model.stateDict();
  assert.deepEqual([...mine.keys()].sort(), [...sd.keys()].sort());
  for (const [k, v] of sd) assert.deepEqual(mine.get(k)!.shape, v.shape, k);
  // enc_rope has 16 image rows then 12 zero-angle rows (4 time + 8 condition tokens)
  const enc = ropeTable(16, 4, 4, 12);
  const stored = sd.get('enc_rope.freqs_cos')!.dataSync();
  assert.ok(maxAbsDiff(enc.cos, stored) <= 6e-8, 'enc_rope cos within one ulp');
  assert.equal(maxAbsDiff(enc.sin, sd.get('enc_rope.freqs_sin')!.dataSync()), 0, 'enc_rope sin bit-exact');
  assert.ok(enc.cos.slice(16 * 16).every((v) => v === 1) && enc.sin.slice(16 * 16).every((v) => v === 0), 'condition rows are unrotated');
  for (const k of ['dec_rope.freqs_cos', 'dec_rope.freqs_sin']) assert.ok(maxAbsDiff(mine.get(k)!, sd.get(k)!) <= 6e-8, k);
  // init: zero adaLN projections / final layers (full and base heads)
  for (const [k, v] of mine) {
    if (/adaln_modulation\.1\.|final_layer\.linear\./.test(k)) assert.equal(tf.tidy(() => v.abs().max().dataSync()[0]), 0, k);
  }
  // zero-initialised heads predict exactly 0 at init
  const x = tf.randomNormal([2, 16, 16]), t = tf.tensor1d([0.3, 0.7]);
  const o = model.forward(x, t, { labels: tf.tensor1d([1, 10], 'int32') });
  assert.equal(tf.tidy(() => o.full.abs().max().dataSync()[0]), 0);
  assert.equal(tf.tidy(() => o.base!.abs().max().dataSync()[0]), 0);
  tf.dispose([x, t, o.full, o.base!]);
  model.dispose();
  for (const v of sd.values()) v.dispose();
});

test('raev2 token conditioning: a padded condition token does not change the output; an unpadded one does', async () => {
  await useBackend('cpu');
  const model = createDiT({
    arch: 'raev2', inputSize: [2, 3], inChannels: 4, hiddenSize: [16, 24], depth: [2, 1], numHeads: [2, 2],
    condition: { type: 'tokens', contextDim: 6 }, numCondTokens: 3, baseDepth: 1,
  }, 3);
  // zero-init heads would hide everything: randomise every parameter
  for (const [, v] of model.namedParameters()) v.assign(tf.tidy(() => tf.randomNormal(v.shape, 0, 0.3, 'float32', 7)));
  const before = tf.memory().numTensors;
  const x = tf.randomNormal([2, 6, 4], 0, 1, 'float32', 1), t = tf.tensor1d([0.2, 0.8]);
  const tokens = tf.randomNormal([2, 3, 6], 0, 1, 'float32', 2);
  const changed = tf.tidy(() => tf.concat([tokens.slice([0, 0, 0], [-1, 2, -1]), tf.randomNormal([2, 1, 6], 0, 5, 'float32', 3)], 1));
  const padLast = tf.tensor2d([[1, 1, 0], [1, 1, 0]]);
  const a = model.forward(x, t, { tokens, mask: padLast });
  const b = model.forward(x, t, { tokens: changed, mask: padLast });
  assert.equal(maxAbsDiff(a.full, b.full), 0, 'full output changed by a padded token');
  assert.equal(maxAbsDiff(a.base!, b.base!), 0, 'base output changed by a padded token');
  const ones = tf.ones([2, 3]);
  const c = model.forward(x, t, { tokens, mask: ones });
  const e = model.forward(x, t, { tokens: changed });
  assert.ok(maxAbsDiff(c.full, e.full) > 1e-3, 'an unpadded token must matter');
  // more condition tokens than the RoPE table's condition rows: the extra ones are unrotated too
  const long = tf.randomNormal([2, 5, 6], 0, 1, 'float32', 4);
  const longMask = tf.tensor2d([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]]);
  const f = model.forward(x, t, { tokens: long, mask: longMask });
  assert.deepEqual(f.full.shape, [2, 6, 4]);
  assert.deepEqual(f.base!.shape, [2, 6, 4]);
  tf.dispose([x, t, tokens, changed, padLast, a.full, a.base!, b.full, b.base!, c.full, c.base!, e.full, e.base!, ones, long, longMask, f.full, f.base!]);
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
  model.dispose();
});
