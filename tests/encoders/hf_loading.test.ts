import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import { tf, type Tensor, loadSafetensors, saveSafetensors, latentFromOutput } from '@raev2/core';
import { loadHFEncoder, loadHFModel, isVisionModel, disposeViTOutput, type HFVisionModel, Dinov3Model } from '@raev2/encoders';
import { assertClose, fixtureDir, loadIO, maxAbsDiff, testBackends, useBackend } from '../helpers/fixtures.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-hf-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
before(() => useBackend(testBackends()[0]));
let counter = 0;

/** A writable copy of a fixture folder (config, processor config, weights), with optional edits. */
function copyFixture(family: string, edit: { config?: (c: Record<string, unknown>) => Record<string, unknown>; weights?: (w: Map<string, Tensor>) => void } = {}): string {
  const src = fixtureDir(family);
  const dir = path.join(tmpRoot, `${family}-${counter++}`);
  fs.mkdirSync(dir);
  const config = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(edit.config ? edit.config(config) : config));
  if (fs.existsSync(path.join(src, 'preprocessor_config.json'))) fs.copyFileSync(path.join(src, 'preprocessor_config.json'), path.join(dir, 'preprocessor_config.json'));
  if (edit.weights) {
    const w = loadSafetensors(path.join(src, 'model.safetensors'));
    edit.weights(w);
    saveSafetensors(path.join(dir, 'model.safetensors'), w);
    for (const t of w.values()) t.dispose();
  } else fs.copyFileSync(path.join(src, 'model.safetensors'), path.join(dir, 'model.safetensors'));
  return dir;
}

/** Run a vision model on the fixture input and compare last_hidden_state. */
function assertMatchesFixture(model: HFVisionModel, family: string, extra: Record<string, unknown> = {}): void {
  const io = loadIO(family);
  const out = model.forward(io.get('pixel_values')!, { noise: io.get('noise'), ...extra });
  assertClose(out.lastHiddenState, io.get('last_hidden_state')!, 1e-4, `${family} last_hidden_state`);
  disposeViTOutput(out);
  for (const t of io.values()) t.dispose();
}

test('a missing folder or an offline Hub id gives an error saying what was looked for and how to provide it', async () => {
  await assert.rejects(loadHFEncoder(path.join(tmpRoot, 'no-such-model')), /no-such-model does not exist/);
  const empty = fs.mkdtempSync(path.join(tmpRoot, 'cache-'));
  const offline = { hubCache: empty, cacheDir: empty, localFilesOnly: true };
  await assert.rejects(loadHFEncoder('someorg/missing-model', offline), (e: Error) => {
    assert.match(e.message, /"someorg\/missing-model"/);
    assert.match(e.message, /not available offline/);
    assert.match(e.message, /models--someorg--missing-model/);
    assert.match(e.message, /local folder path/);
    return true;
  });
  const saved = process.env.HF_HUB_OFFLINE;
  process.env.HF_HUB_OFFLINE = '1';
  try {
    await assert.rejects(loadHFEncoder('someorg/missing-model', { hubCache: empty, cacheDir: empty }), /not available offline/);
  } finally {
    if (saved === undefined) delete process.env.HF_HUB_OFFLINE;
    else process.env.HF_HUB_OFFLINE = saved;
  }
});

test('Hub ids resolve offline from the Python hub cache (refs/main → snapshot) and from the transformers.js cache layout', async () => {
  const hub = path.join(tmpRoot, 'hub');
  const snap = path.join(hub, 'models--someorg--tiny-dinov2', 'snapshots', 'abc123');
  fs.mkdirSync(path.join(hub, 'models--someorg--tiny-dinov2', 'refs'), { recursive: true });
  fs.writeFileSync(path.join(hub, 'models--someorg--tiny-dinov2', 'refs', 'main'), 'abc123\n');
  fs.cpSync(copyFixture('dinov2'), snap, { recursive: true });
  const enc = await loadHFEncoder('someorg/tiny-dinov2', { hubCache: hub, cacheDir: path.join(tmpRoot, 'none'), localFilesOnly: true });
  assert.equal(enc.numLayers, 2);
  assertMatchesFixture(enc.model, 'dinov2');
  enc.dispose();

  const jsCache = path.join(tmpRoot, 'jscache');
  fs.cpSync(copyFixture('clip_vision'), path.join(jsCache, 'someorg', 'tiny-clip'), { recursive: true });
  const { model } = await loadHFModel('someorg/tiny-clip', { hubCache: path.join(tmpRoot, 'none'), cacheDir: jsCache, localFilesOnly: true });
  assert.ok(isVisionModel(model));
  assertMatchesFixture(model, 'clip_vision');
  model.dispose();
});

test('weights that do not fit the config name the tensor and the shape the model expects', async () => {
  const before = tf.memory().numTensors;
  const transposed = copyFixture('dinov2', {
    weights: (w) => {
      const t = w.get('encoder.layer.0.mlp.fc1.weight')!;
      w.set('encoder.layer.0.mlp.fc1.weight', t.transpose());
      t.dispose();
    },
  });
  await assert.rejects(loadHFModel(transposed), /tensor "encoder\.layer\.0\.mlp\.fc1\.weight" has shape \[32,128\] but the model expects \[128,32\]/);
  const missing = copyFixture('dinov2', { weights: (w) => { w.get('layernorm.weight')!.dispose(); w.delete('layernorm.weight'); } });
  await assert.rejects(loadHFModel(missing), /missing tensor "layernorm\.weight" \(expected shape \[32\]\)/);
  const extra = copyFixture('dinov2', { weights: (w) => w.set('extra.thing', tf.zeros([3])) });
  await assert.rejects(loadHFModel(extra), /unexpected tensor "extra\.thing" \[3\]/);
  // a config that disagrees with the weights (wider MLP) is reported the same way
  const wider = copyFixture('dinov2', { config: (c) => ({ ...c, mlp_ratio: 2 }) });
  await assert.rejects(loadHFModel(wider), /fc1\.weight" has shape \[128,32\] but the model expects \[64,32\]/);
  assert.equal(tf.memory().numTensors, before, 'failed loads leak no tensors');
});

test('bad or unsupported configs and folders fail with messages naming the file and field', async () => {
  await assert.rejects(loadHFModel(copyFixture('dinov2', { config: (c) => ({ ...c, num_attention_heads: 3 }) })), /config\.json[\s\S]*num_attention_heads: hidden_size 32 is not divisible/);
  await assert.rejects(loadHFModel(copyFixture('dinov3_vit', { config: (c) => ({ ...c, hidden_act: 'mish' }) })), /config\.json[\s\S]*hidden_act/);
  await assert.rejects(loadHFModel(copyFixture('dinov2', { config: (c) => ({ ...c, model_type: 'bert' }) })), /model_type "bert" is not supported \(supported: .*dinov2.*vit_mae/);
  const noConfig = copyFixture('dinov2');
  fs.rmSync(path.join(noConfig, 'config.json'));
  await assert.rejects(loadHFModel(noConfig), /config\.json not found/);
  const noWeights = copyFixture('dinov2');
  fs.renameSync(path.join(noWeights, 'model.safetensors'), path.join(noWeights, 'pytorch_model.bin'));
  await assert.rejects(loadHFModel(noWeights), /no weights[\s\S]*pytorch_model\.bin/);
  const clip = copyFixture('clip_vision', { config: (c) => ({ model_type: 'clip', vision_config: c, text_config: {} }) });
  await assert.rejects(loadHFModel(clip, { tower: 'text' }), /only the vision tower of CLIP/);
});

test('sharded weights, 4.x configs (torch_dtype) and wrapping checkpoints (ViTMAEForPreTraining, CLIPModel) load', async () => {
  // sharded: two shards and an index
  const sharded = copyFixture('dinov2');
  const w = loadSafetensors(path.join(sharded, 'model.safetensors'));
  fs.rmSync(path.join(sharded, 'model.safetensors'));
  const keys = [...w.keys()];
  const shards = [keys.slice(0, 10), keys.slice(10)];
  const weightMap: Record<string, string> = {};
  shards.forEach((ks, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    saveSafetensors(path.join(sharded, file), new Map(ks.map((k) => [k, w.get(k)!])));
    for (const k of ks) weightMap[k] = file;
  });
  fs.writeFileSync(path.join(sharded, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  for (const t of w.values()) t.dispose();
  let m = (await loadHFModel(sharded)).model as HFVisionModel;
  assertMatchesFixture(m, 'dinov2');
  m.dispose();

  const v4 = copyFixture('dinov3_vit', { config: ({ dtype, ...c }) => ({ ...c, torch_dtype: dtype, transformers_version: '4.56.0' }) });
  m = (await loadHFModel(v4)).model as HFVisionModel;
  assertMatchesFixture(m, 'dinov3_vit');
  m.dispose();

  const mae = copyFixture('vit_mae', {
    weights: (ws) => {
      for (const k of [...ws.keys()]) { ws.set(`vit.${k}`, ws.get(k)!); ws.delete(k); }
      ws.set('decoder.decoder_pred.weight', tf.zeros([4, 4]));
    },
  });
  m = (await loadHFModel(mae)).model as HFVisionModel;
  const io = loadIO('vit_mae');
  assertMatchesFixture(m, 'vit_mae', { noise: io.get('noise') });
  m.dispose();
  for (const t of io.values()) t.dispose();

  const clip = copyFixture('clip_vision', {
    config: (c) => ({ model_type: 'clip', vision_config: c, text_config: { hidden_size: 16 } }),
    weights: (ws) => { ws.set('text_model.final_layer_norm.weight', tf.ones([16])); ws.set('logit_scale', tf.scalar(2.6)); ws.set('visual_projection.weight', tf.zeros([8, 32])); },
  });
  m = (await loadHFModel(clip)).model as HFVisionModel;
  assertMatchesFixture(m, 'clip_vision');
  m.dispose();
});

test('the Encoder adapter: processor size, normalisation, hidden states, grid, latent norm, no leaks', async () => {
  const io = loadIO('dinov2');
  const enc = await loadHFEncoder(fixtureDir('dinov2'), { name: 'tiny-dinov2' });
  assert.deepEqual([enc.name, enc.imageSize, enc.patchSize, enc.numLayers, enc.hiddenSize], ['tiny-dinov2', [56, 56], 14, 2, 32]);
  assert.ok(maxAbsDiff(enc.imageMean, [0.485, 0.456, 0.406]) < 1e-9 && maxAbsDiff(enc.imageStd, [0.229, 0.224, 0.225]) < 1e-9, 'ImageNet mean/std');
  const before = tf.memory().numTensors;
  const out = enc.forward(io.get('pixel_values')!);
  assert.deepEqual([out.grid, out.prefixTokens, out.hiddenStates.length], [[4, 4], 1, 3]);
  for (let i = 0; i < 3; i++) assertClose(out.hiddenStates[i], io.get(`hidden_states.${i}`)!, 1e-4, `hidden_states.${i}`);
  // latentNorm is the final layernorm without its affine: applying weight and bias gives last_hidden_state
  const sd = (enc.model as unknown as { stateDict(): Map<string, Tensor> }).stateDict();
  const affine = tf.tidy(() => enc.latentNorm(out.hiddenStates[2]).mul(sd.get('layernorm.weight')!).add(sd.get('layernorm.bias')!));
  assertClose(affine, io.get('last_hidden_state')!, 1e-4, 'latentNorm + affine');
  const z = latentFromOutput(enc, out, { layers: [0, 1] });
  assert.deepEqual(z.shape, [2, 16, 32]);
  tf.dispose([affine, z, ...out.hiddenStates]);
  assert.equal(tf.memory().numTensors, before, 'encoder forward leaked');

  // preprocess: 'resize' (default) keeps the whole image, 'processor' follows shortest-edge + center crop
  const img = tf.randomUniform([1, 69, 86, 3], 0, 1, 'float32', 1);
  const resized = enc.preprocess(img);
  assert.deepEqual(resized.shape, [1, 3, 56, 56]);
  const proc = await loadHFEncoder(fixtureDir('dinov2'), { preprocess: 'processor' });
  const cropped = proc.preprocess(img);
  assert.deepEqual(cropped.shape, [1, 3, 56, 56]);
  assert.ok(maxAbsDiff(resized, cropped) > 0.01, 'the two modes differ');
  tf.dispose([img, resized, cropped]);
  proc.dispose();
  enc.dispose();
  for (const t of io.values()) t.dispose();
});

test('the Encoder adapter runs other resolutions (registers: 5 prefix tokens; DINOv3 at 24×40 is the fixture interp call)', async () => {
  const reg = await loadHFEncoder(fixtureDir('dinov2_with_registers'), { imageSize: 28 });
  assert.deepEqual(reg.imageSize, [28, 28]);
  const px = reg.preprocess(tf.zeros([1, 30, 30, 3]));
  const out = reg.forward(px);
  assert.deepEqual([out.grid, out.prefixTokens, out.hiddenStates[2].shape], [[2, 2], 5, [1, 9, 32]]);
  tf.dispose([px, ...out.hiddenStates]);
  reg.dispose();
  await assert.rejects(loadHFEncoder(fixtureDir('dinov2'), { imageSize: 50 }), /50×50 is not a multiple of the patch size 14/);

  const io = loadIO('dinov3_vit');
  const enc = await loadHFEncoder(fixtureDir('dinov3_vit'), { imageSize: [24, 40] });
  const o = enc.forward(io.get('pixel_values_interp')!);
  assert.deepEqual([o.grid, o.prefixTokens], [[3, 5], 5]);
  const last = tf.tidy(() => (enc.model as Dinov3Model).norm.forward(o.hiddenStates[2]));
  assertClose(last, io.get('interp.last_hidden_state')!, 1e-4, 'dinov3 24×40');
  tf.dispose([last, ...o.hiddenStates]);
  enc.dispose();
  for (const t of io.values()) t.dispose();
});

test('online: a Hub id is downloaded (config, processor, sharded weights) into the transformers.js cache, then loads offline', async () => {
  const { env } = await import('@huggingface/transformers');
  // a loopback server in the Hub's URL layout stands in for huggingface.co
  const src = copyFixture('dinov2');
  const w = loadSafetensors(path.join(src, 'model.safetensors'));
  fs.rmSync(path.join(src, 'model.safetensors'));
  const keys = [...w.keys()];
  const weightMap: Record<string, string> = {};
  [keys.slice(0, 7), keys.slice(7)].forEach((ks, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    saveSafetensors(path.join(src, file), new Map(ks.map((k) => [k, w.get(k)!])));
    for (const k of ks) weightMap[k] = file;
  });
  fs.writeFileSync(path.join(src, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
  for (const t of w.values()) t.dispose();
  const requests: string[] = [];
  let auth: string | undefined;
  const server = http.createServer((req, res) => {
    requests.push(req.url!);
    auth ??= req.headers.authorization;
    const m = /^\/someorg\/served-dinov2\/resolve\/main\/(.+)$/.exec(req.url!);
    const file = m ? path.join(src, decodeURIComponent(m[1])) : null;
    if (!file || !fs.existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': fs.statSync(file).size }).end(fs.readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const saved = { host: env.remoteHost, token: process.env.HF_TOKEN, offline: process.env.HF_HUB_OFFLINE };
  env.remoteHost = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  process.env.HF_TOKEN = 'test-token';
  delete process.env.HF_HUB_OFFLINE;
  const cacheDir = path.join(tmpRoot, 'download-cache');
  const none = path.join(tmpRoot, 'none');
  try {
    const enc = await loadHFEncoder('someorg/served-dinov2', { hubCache: none, cacheDir, progress: false });
    assertMatchesFixture(enc.model, 'dinov2');
    enc.dispose();
    assert.ok(requests.includes('/someorg/served-dinov2/resolve/main/model.safetensors'), 'single file tried first');
    for (const f of ['config.json', 'preprocessor_config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']) {
      assert.ok(fs.existsSync(path.join(cacheDir, 'someorg', 'served-dinov2', f)), `${f} cached`);
    }
    assert.equal(auth, 'Bearer test-token');
    await assert.rejects(loadHFModel('someorg/other-model', { hubCache: none, cacheDir }), /HTTP 404/);
  } finally {
    server.close();
    env.remoteHost = saved.host;
    for (const [k, v] of [['HF_TOKEN', saved.token], ['HF_HUB_OFFLINE', saved.offline]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const again = await loadHFModel('someorg/served-dinov2', { hubCache: none, cacheDir, localFilesOnly: true });
  again.model.dispose();
});
