import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { tf, loadDiT, createDiT, ditConfigFromUpstream, loadSafetensors, tokensFromNCHW, modelDenoiser, cfgGuidance, ropeTable, type Tensor } from '@raev2/core';
import { fixtureDir, loadIO, maxAbsDiff, testBackends, useBackend } from '../../helpers/fixtures.js';
import * as fs from 'node:fs';

const ATOL = 1e-4;
const tok = (x: Tensor) => tokensFromNCHW(x);

for (const backend of testBackends()) {
  test(`rae_ddt fixture: forward and CFG (interval [0, 0.75]) match upstream (${backend})`, async () => {
    await useBackend(backend);
    const io = loadIO('rae_ddt');
    const before = tf.memory().numTensors;
    const model = loadDiT(fixtureDir('rae_ddt'));
    assert.equal(model.prediction, 'velocity');
    const x = tok(io.get('x')!), t = io.get('t')!, y = io.get('y_int32')!;
    const out = model.forward(x, t, { labels: y });
    const ref = tok(io.get('output')!);
    // CFG as a wrapper: the fixture's doubled batch is [x; x] with labels [y; null]; upstream returns the guided half twice
    const guided = cfgGuidance(modelDenoiser(model), { scale: 1.5, interval: [0, 0.75], nullCond: (b) => model.nullCondition(b) });
    const g = guided(x, t, { labels: y });
    const refCfg = tok(io.get('cfg.output')!);
    const [r0, r1] = tf.split(refCfg, 2, 0);
    const d = { output: maxAbsDiff(out.full, ref), 'cfg.output[:2]': maxAbsDiff(g.full, r0), 'cfg.output[2:]': maxAbsDiff(g.full, r1) };
    console.log(`  [${backend}] max abs diffs: ${Object.entries(d).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
    for (const [k, v] of Object.entries(d)) assert.ok(v <= ATOL, `${k}: ${v} > ${ATOL}`);
    // sample 1 (t = 0.9) is outside the interval: its output is the conditional one
    const cond1 = tf.tidy(() => out.full.slice([1, 0, 0], [1, -1, -1]));
    const guided1 = tf.tidy(() => g.full.slice([1, 0, 0], [1, -1, -1]));
    assert.ok(maxAbsDiff(guided1, cond1) < 1e-5);
    tf.dispose([x, ref, out.full, g.full, refCfg, r0, r1, cond1, guided1]);
    model.dispose();
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    for (const v of io.values()) v.dispose();
  });
}

test('rae_ddt: a fresh model has exactly the upstream keys and shapes; RoPE / pos-embed buffers equal the stored ones', async () => {
  await useBackend('cpu');
  const cfg = ditConfigFromUpstream(JSON.parse(fs.readFileSync(path.join(fixtureDir('rae_ddt'), 'config.json'), 'utf8')));
  const sd = loadSafetensors(path.join(fixtureDir('rae_ddt'), 'model.safetensors'));
  const model = createDiT(cfg);
  const mine = model.stateDict();
  assert.deepEqual([...mine.keys()].sort(), [...sd.keys()].sort());
  for (const [k, v] of sd) assert.deepEqual(mine.get(k)!.shape, v.shape, k);
  // RoPE: sin bit-exact, cos within 1 float32 ulp (torch's vectorised cosf is not correctly rounded)
  for (const k of ['enc_feat_rope.freqs_cos', 'enc_feat_rope.freqs_sin', 'dec_feat_rope.freqs_cos', 'dec_feat_rope.freqs_sin']) {
    const d = maxAbsDiff(mine.get(k)!, sd.get(k)!);
    assert.ok(d <= 6e-8, `${k}: ${d}`);
  }
  assert.ok(maxAbsDiff(mine.get('pos_embed')!, sd.get('pos_embed')!) <= 1e-6, 'pos_embed');
  // the generator alone, too
  const tb = ropeTable(16, 4, 4);
  assert.equal(maxAbsDiff(tb.sin, sd.get('enc_feat_rope.freqs_sin')!.dataSync()), 0);
  // docs/method.md §2.1 init: adaLN projections and the final layer start at zero, the label table ~ N(0, 0.02)
  for (const [k, v] of mine) {
    if (/adaLN_modulation\.1\.|final_layer\.linear\./.test(k)) assert.equal(tf.tidy(() => v.abs().max().dataSync()[0]), 0, k);
  }
  const table = mine.get('y_embedder.embedding_table.weight')!;
  const std = tf.tidy(() => tf.moments(table).variance.sqrt().dataSync()[0]);
  assert.ok(std > 0.01 && std < 0.04, `label table std ${std}`);
  model.dispose();
  for (const v of sd.values()) v.dispose();
});
