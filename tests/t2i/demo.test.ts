import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf, disposeCondition } from '@raev2/core';
import { buildVocab, writeWordTokenizer, createTextTower, towerConfigJson, TowerShapeSchema, saveTextTower, LockedImageHead, emojiCaptionSet, parseT2ITrainConfig, trainT2I, loadT2IModel, generateFromPrompts } from '@raev2/t2i';
import { exportT2IPretrained, readT2IPretrained, loadT2IPretrained } from '../../packages/cli/src/demo/t2i/pretrained.js';
import { renderT2IReport, demoPrompts } from '../../packages/cli/src/demo/t2i/run.js';
import { useBackend, ROOT } from '../helpers/fixtures.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
before(() => useBackend('wasm'));
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 't2i-demo-'));
  dirs.push(d);
  return d;
};

test('t2i demo checkpoint: export (fp16, sha256 manifest) → verify → load generates like the run; a changed file is named', async () => {
  const d = tmp();
  const items = emojiCaptionSet().items.filter((i) => !i.heldOut && i.attributes.kind === 'shape').slice(0, 6);
  const manifest = path.join(d, 'm.jsonl');
  fs.writeFileSync(manifest, items.map((i) => JSON.stringify({ image: i.path, captions: i.captions })).join('\n'));
  const tower = path.join(d, 'tower');
  const n = writeWordTokenizer(tower, buildVocab(items.flatMap((i) => i.captions)));
  const shape = TowerShapeSchema.parse({ hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, projection_size: 16 });
  const m = createTextTower(towerConfigJson(shape, n, { pad: 0, eos: 1 }), 0);
  const head = new LockedImageHead(864, 16);
  saveTextTower(tower, towerConfigJson(shape, n, { pad: 0, eos: 1 }), m, head);
  m.dispose();
  head.dispose();
  // the class demo's shipped decoder: same encoder, layers and size (6×6×96 at 96 px)
  const decoder = path.join(d, 'decoder');
  fs.mkdirSync(decoder);
  const shipped = path.join(ROOT, 'packages/cli/pretrained/emoji-demo');
  fs.copyFileSync(path.join(shipped, 'decoder.config.json'), path.join(decoder, 'config.json'));
  fs.copyFileSync(path.join(shipped, 'decoder.safetensors'), path.join(decoder, 'model.safetensors'));
  const run = path.join(d, 'run');
  await trainT2I(parseT2ITrainConfig({ data: `manifest:${manifest}`, textEncoder: `hf:${tower}`, imageSize: 96, out: run, model: { hiddenSize: [96, 32], depth: [2, 1], numHeads: [4, 2], baseDepth: 1, numTimeTokens: 1, numCondTokens: 1 }, batchSize: 4, steps: 2, checkpointEvery: 2, seed: 0, text: { maxTokens: 8 } }), { handleSignals: false });
  const dest = path.join(d, 'shipped');
  const man = exportT2IPretrained({ tower, decoder, run }, dest, ['test export']);
  assert.equal(man.step, 2);
  const bytes = Object.values(man.files).reduce((a, f) => a + f.bytes, 0);
  assert.ok(bytes < 30 * 2 ** 20, `${bytes} bytes`);
  const again = readT2IPretrained(dest)!;
  assert.deepEqual(again.files, man.files);
  const fromRun = await loadT2IModel(run);
  const fromShip = await loadT2IPretrained(again, dest);
  const req = { prompts: [items[0].captions[0]], perPrompt: 2, steps: 3, seed: 1, guidance: { method: 'cfg' as const, cfgScale: 2 } };
  const a = generateFromPrompts(fromRun, req), b = generateFromPrompts(fromShip.model, req);
  const diff = tf.tidy(() => a.latents.sub(b.latents).abs().max().dataSync()[0]);
  assert.ok(diff < 5e-2, `fp16 weights generate like the run's fp32 ones (max |Δ| ${diff})`);
  tf.dispose([a.latents, b.latents]);
  fromRun.dispose();
  fromShip.model.dispose();
  fs.appendFileSync(path.join(dest, 'dit.safetensors'), 'x');
  assert.throws(() => readT2IPretrained(dest), /dit\.safetensors/);
  void disposeCondition;
});

test('t2i demo report: prompts labelled seen / held-out, grid inlined, tables from the Markdown', () => {
  const d = tmp();
  const png = path.join(d, 'g.png');
  // a 1×1 PNG
  fs.writeFileSync(png, Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082', 'hex'));
  const prompts = demoPrompts(false);
  assert.ok(prompts.some((p) => p.heldOut) && prompts.some((p) => !p.heldOut));
  const held = new Set(emojiCaptionSet().items.filter((i) => i.heldOut).map((i) => i.captions[0]));
  for (const p of prompts) assert.equal(held.has(p.prompt), p.heldOut, `${p.prompt} is ${p.heldOut ? '' : 'not '}a held-out combination`);
  const html = renderT2IReport('# t\n\n## held-out prompts\n\n| a | b |\n|---|---|\n| 1 | <2> |\n', png, prompts);
  assert.match(html, /<img alt="prompt grid" src="data:image\/png;base64,/);
  assert.match(html, /<b>\[held-out\]<\/b> orange heart/);
  assert.match(html, /<td>&lt;2&gt;<\/td>/);
});
