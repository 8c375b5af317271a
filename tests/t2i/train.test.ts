import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf, generateLatents, disposeCondition } from '@raev2/core';
import { buildVocab, writeWordTokenizer, createTextTower, towerConfigJson, TowerShapeSchema, saveTextTower, emojiCaptionSet, parseT2ITrainConfig, trainT2I, loadT2IModel, readT2IRun, groupRepeats, repeatRows } from '@raev2/t2i';
import { useBackend } from '../helpers/fixtures.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
before(() => useBackend('wasm'));
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 't2i-train-'));
  dirs.push(d);
  return d;
};

/** 8 captioned emoji (a manifest) and a tiny random tower over their captions. */
function fixture(): { manifest: string; tower: string; captions: string[] } {
  const d = tmp();
  const items = emojiCaptionSet().items.filter((i) => !i.heldOut && i.attributes.kind === 'shape').slice(0, 8);
  const manifest = path.join(d, 'm.jsonl');
  fs.writeFileSync(manifest, items.map((i) => JSON.stringify({ image: i.path, captions: i.captions })).join('\n'));
  const tower = path.join(d, 'tower');
  const n = writeWordTokenizer(tower, buildVocab(items.flatMap((i) => i.captions)));
  const shape = TowerShapeSchema.parse({ hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, projection_size: 16 });
  const m = createTextTower(towerConfigJson(shape, n, { pad: 0, eos: 1 }), 0);
  saveTextTower(tower, towerConfigJson(shape, n, { pad: 0, eos: 1 }), m);
  m.dispose();
  return { manifest, tower, captions: items.map((i) => i.captions[0]) };
}

const model = { hiddenSize: [96, 32], depth: [2, 1], numHeads: [4, 2], baseDepth: 1, numTimeTokens: 1, numCondTokens: 1 };

test('t2i train: text-conditioned and one-hot caption-id runs train through the generic loop, resume, and generate from prompts', async () => {
  const f = fixture();
  for (const variant of ['text', 'caption-id'] as const) {
    const out = path.join(tmp(), variant);
    const cfg = parseT2ITrainConfig({ data: `manifest:${f.manifest}`, textEncoder: `hf:${f.tower}`, imageSize: 64, variant, model, batchSize: 4, steps: 3, checkpointEvery: 2, logEvery: 1, out, seed: 0, text: { maxTokens: 8 } });
    const r = await trainT2I(cfg, { handleSignals: false });
    assert.equal(r.step, 3);
    const run = readT2IRun(out);
    assert.equal(run.variant, variant);
    assert.equal(r.plan.dit.arch === 'raev2' && r.plan.dit.condition.kind, variant === 'text' ? 'tokens' : 'class');
    // a second call resumes at the end and does nothing more
    assert.equal((await trainT2I(cfg, { handleSignals: false })).step, 3);
    // bookkeeping fields may change on resume; the model's may not
    assert.equal((await trainT2I({ ...cfg, checkpointEvery: 5, logEvery: 2 }, { handleSignals: false })).step, 3);
    await assert.rejects(trainT2I({ ...cfg, batchSize: 2 }, { handleSignals: false }), /batchSize/);
    const n0 = tf.memory().numTensors;
    const m = await loadT2IModel(out);
    const cond = m.condition([f.captions[0], 'a prompt never seen']);
    if (variant === 'text') {
      assert.deepEqual(cond.tokens!.shape, [2, 8, 16], 'tokens cut to maxTokens');
    } else {
      assert.deepEqual([...cond.labels!.dataSync()], [0, run.captionIds ? Object.keys(run.captionIds).length : -1], 'unknown prompt → the null class');
    }
    const g = generateLatents(m.model, cond, { steps: 2, shift: m.shift, seed: 0, guidance: { method: 'cfg', cfgScale: 2 }, nullCondition: (b) => m.nullCondition(b) });
    assert.deepEqual(g.latents.shape, [2, 16, 96]);
    assert.ok(g.latents.dataSync().every(Number.isFinite));
    assert.equal(g.nfePerStep, 2, 'CFG: two network rows per step');
    g.latents.dispose();
    disposeCondition(cond);
    m.dispose();
    assert.ok(tf.memory().numTensors <= n0, `no tensor leak (${tf.memory().numTensors} vs ${n0})`);
  }
});

test('t2i train: a bad flag value and a bad manifest are named before any work', () => {
  assert.throws(() => parseT2ITrainConfig({ textEncoder: 'x', out: 'o', variant: 'nope' }), /variant/);
  assert.throws(() => parseT2ITrainConfig({ out: 'o' }), /textEncoder/);
  const d = tmp();
  const bad = path.join(d, 'bad.jsonl');
  fs.writeFileSync(bad, '{"caption":"x"}\n');
  return assert.rejects(trainT2I(parseT2ITrainConfig({ data: `manifest:${bad}`, textEncoder: 'hf:/nonexistent', out: path.join(d, 'o') })), /bad\.jsonl:1: missing "image"/);
});

test('group-balanced sampling: a group of n items repeated round((n_max/n)^(1−α)) times, rows copied in order', () => {
  const groups = [...new Array<string>(540).fill('person'), ...new Array<string>(260).fill('pair'), ...new Array<string>(24).fill('shape')];
  const r = groupRepeats(groups, 0.5);
  // (540/540)^0.5 = 1, (540/260)^0.5 = 1.44 → 1, (540/24)^0.5 = 4.74 → 5
  assert.deepEqual([r[0], r[539], r[540], r[799], r[800], r[823]], [1, 1, 1, 1, 5, 5]);
  assert.ok(groupRepeats(groups, 1).every((k) => k === 1));
  assert.deepEqual(groupRepeats(['a', 'a', 'a', 'a', 'b', undefined], 0.25), [1, 1, 1, 1, 3, 3]); // (4/1)^0.75 = 2.83
  assert.throws(() => groupRepeats(['a'], 0), /exponent 0: expected 0 < α ≤ 1/);
  const l = { data: Float32Array.from([0, 1, 10, 11, 20, 21]), count: 3, grid: [1, 1] as [number, number], channels: 2 };
  const { latents, source } = repeatRows(l, [1, 3, 2]);
  assert.deepEqual(source, [0, 1, 1, 1, 2, 2]);
  assert.equal(latents.count, 6);
  assert.deepEqual(Array.from(latents.data), [0, 1, 10, 11, 10, 11, 10, 11, 20, 21, 20, 21]);
  const same = repeatRows(l, [1, 1, 1]);
  assert.deepEqual([same.latents.count, same.source, Array.from(same.latents.data)], [3, [0, 1, 2], [0, 1, 10, 11, 20, 21]]);
});
