/**
 * The inference engine pieces around the exported graphs: the RAE decoder through onnxruntime
 * against GeneralDecoder.decode (the tfjs cpu backend) within 1e-4, the graph cache beside a
 * checkpoint (one export per weights hash, a new export when a weight changes), and the validation
 * of `--engine` / RAEV2_ENGINE / RAEV2_ORT_PROVIDER.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  tf, Rng, initRuntime, GeneralDecoder, decoderConfig, ortDecoder, cachedGraph, moduleHash, buildDecoderOnnx, resolveEngine, resolveOrtProvider, cudaProviderInstalled,
} from '@raev2/core';
import { maxAbsDiff } from '../../helpers/fixtures.js';
import { randomize } from './random.js';

before(async () => {
  await initRuntime({ backend: 'cpu', log: false });
});

for (const act of ['gelu', 'gelu_pytorch_tanh'] as const) {
  test(`ONNX RAE decoder equals GeneralDecoder.decode (${act}, 2×3 grid, patch 4)`, (t) => {
    const dec = new GeneralDecoder(decoderConfig('tiny', 8, [2, 3], 4, { hidden_act: act }), { rng: new Rng(1) });
    randomize(dec, 5, 0.2);
    const latent = new Rng(4).randn([2, 6, 8]);
    const ref = dec.decode(latent);
    const ort = ortDecoder(dec, { threads: 1 });
    const before = tf.memory().numTensors;
    const img = ort.decode(latent);
    assert.equal(tf.memory().numTensors, before + 1);
    assert.deepEqual(img.shape, [2, 8, 12, 3]);
    const d = maxAbsDiff(img, ref);
    t.diagnostic(`max abs diff ${d.toExponential(2)} (max |ref| ${ref.abs().max().dataSync()[0].toFixed(2)})`);
    assert.ok(d <= 1e-4, `decoder: ${d}`);
    assert.throws(() => ort.decode(tf.zeros([1, 4, 8])), /latents \[B, 6, 8\]/);
    ort.release();
    tf.dispose([latent, ref, img]);
    dec.dispose();
  });
}

test('exported graphs are cached beside the checkpoint, keyed by the weights', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-onnx-cache-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const dec = new GeneralDecoder(decoderConfig('tiny', 8, [2, 2], 2), { rng: new Rng(1) });
  let builds = 0;
  const build = () => { builds++; return buildDecoderOnnx(dec); };
  const a = cachedGraph(dir, 'decoder', dec, dec.config, build);
  const b = cachedGraph(dir, 'decoder', dec, dec.config, build);
  assert.equal(builds, 1, 'the second call exported again');
  assert.equal(a, b);
  assert.equal(typeof a, 'string');
  assert.match(path.basename(a as string), /^decoder-[0-9a-f]{16}\.onnx$/);
  assert.equal(path.dirname(a as string), path.join(dir, 'onnx'));
  assert.deepEqual(fs.readFileSync(a as string), Buffer.from(buildDecoderOnnx(dec)));
  const h0 = moduleHash(dec, dec.config);
  const w = dec.pred.bias!;
  const bumped = w.add(1e-3);
  w.assign(bumped);
  bumped.dispose();
  assert.notEqual(moduleHash(dec, dec.config), h0, 'a changed weight kept the hash');
  const c = cachedGraph(dir, 'decoder', dec, dec.config, build);
  assert.equal(builds, 2);
  assert.notEqual(c, a);
  assert.ok(cachedGraph(null, 'decoder', dec, dec.config, build) instanceof Uint8Array);
  dec.dispose();
});

test('--engine / RAEV2_ENGINE and RAEV2_ORT_PROVIDER are validated, defaults resolved', () => {
  const saved = { e: process.env.RAEV2_ENGINE, p: process.env.RAEV2_ORT_PROVIDER };
  try {
    delete process.env.RAEV2_ENGINE;
    assert.equal(resolveEngine(), 'ort');
    assert.equal(resolveEngine('tfjs'), 'tfjs');
    assert.throws(() => resolveEngine('torch'), /--engine="torch" is not one of ort, tfjs/);
    process.env.RAEV2_ENGINE = 'nope';
    assert.throws(() => resolveEngine(), /RAEV2_ENGINE="nope"/);
    process.env.RAEV2_ORT_PROVIDER = 'tpu';
    assert.throws(() => resolveOrtProvider(), /RAEV2_ORT_PROVIDER="tpu" is not one of auto, cpu, cuda, webgpu/);
    delete process.env.RAEV2_ORT_PROVIDER;
    assert.equal(resolveOrtProvider(), cudaProviderInstalled() ? 'cuda' : 'cpu');
  } finally {
    for (const [k, v] of [['RAEV2_ENGINE', saved.e], ['RAEV2_ORT_PROVIDER', saved.p]] as const) {
      if (v == null) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
