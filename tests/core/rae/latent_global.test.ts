/**
 * The multi-layer latent's global term and `combine=sum`, checked against a float64 recomputation from
 * the DINOv3 fixture's upstream hidden states: z = combine_{i∈S} LN(h_i) (+ token-mean of LN(h_deepest)),
 * LN without affine (eps from the config), CLS + 4 registers dropped. The spec strings that name the
 * authors' multi-layer DINOv3 encoder (`dinov3-vit-l16[layers=…]`, `dinov3mls-vit-l16[layers=…]`) must
 * give that latent — global term included — by default, whatever order the list is written in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf, disposeOutput, latentFromOutput, rawLatent, type EncoderOutput, type LayerSelection, type Tensor } from '@raev2/core';
import { loadEncoder, MULTI_LAYER_PRESETS, HF_ENCODERS } from '@raev2/encoders';
import { assertClose, fixtureDir, loadIO, useBackend } from '../../helpers/fixtures.js';

const FAMILY = 'dinov3_vit';
const PREFIX = 5; // CLS + 4 registers
const EPS = JSON.parse(fs.readFileSync(path.join(fixtureDir(FAMILY), 'config.json'), 'utf8')).layer_norm_eps as number;

// the published hub ids resolve offline to the tiny fixture (a Python hub cache laid out in a temp folder)
const hub = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-latent-global-'));
for (const id of [HF_ENCODERS['dinov3-vit-l16'].id, MULTI_LAYER_PRESETS['dinov3mls-vit-l16'].id, 'google/siglip2-large-patch16-256']) {
  const family = id.startsWith('google/') ? 'siglip2_vision' : FAMILY;
  const snap = path.join(hub, `models--${id.replace('/', '--')}`, 'snapshots', 'main');
  fs.mkdirSync(snap, { recursive: true });
  for (const f of ['config.json', 'model.safetensors', 'preprocessor_config.json']) {
    if (!fs.existsSync(path.join(snap, f))) fs.symlinkSync(path.join(fixtureDir(family), f), path.join(snap, f));
  }
}
process.env.HF_HUB_CACHE = hub;
process.env.HF_HUB_OFFLINE = '1';
test.after(() => fs.rmSync(hub, { recursive: true, force: true }));

/** float64: [B, T, D] hidden state → its patch tokens through LN without affine, as nested arrays [B][N][D]. */
function ln64(h: Tensor): number[][][] {
  const x = h.arraySync() as number[][][];
  return x.map((tokens) => tokens.slice(PREFIX).map((v) => {
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    const s = v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length;
    return v.map((e) => (e - m) / Math.sqrt(s + EPS));
  }));
}

/** float64 recomputation of the latent from the fixture's hidden states, flat [B·N·D]. */
function reference(io: Map<string, Tensor>, layers: number[], combine: 'mean' | 'sum', global: boolean): Float64Array {
  const deepest = Math.max(...layers);
  const normed = new Map(layers.map((i) => [i, ln64(io.get(`hidden_states.${i + 1}`)!)]));
  const [b, n, d] = [normed.get(deepest)!.length, normed.get(deepest)![0].length, normed.get(deepest)![0][0].length];
  const out = new Float64Array(b * n * d);
  for (let bi = 0; bi < b; bi++) {
    const last = normed.get(deepest)![bi];
    for (let t = 0; t < n; t++) for (let c = 0; c < d; c++) {
      let v = 0;
      for (const l of layers) v += normed.get(l)![bi][t][c];
      if (combine === 'mean') v /= layers.length;
      if (global) v += last.reduce((a, tok) => a + tok[c], 0) / n;
      out[(bi * n + t) * d + c] = v;
    }
  }
  return out;
}

function fixtureOutput(io: Map<string, Tensor>): EncoderOutput {
  return { hiddenStates: [0, 1, 2].map((i) => io.get(`hidden_states.${i}`)!), grid: [4, 4], prefixTokens: PREFIX };
}

test('DINOv3 multi-layer specs: the global term is on by default, layers apply in depth order, mean and sum match float64', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const io = loadIO(FAMILY);
  const cases: { spec: string; expect: Required<LayerSelection> }[] = [
    { spec: 'dinov3-vit-l16[layers=0.1]', expect: { layers: [0, 1], combine: 'mean', global: true } },
    { spec: 'dinov3-vit-l16[layers=1.0]', expect: { layers: [0, 1], combine: 'mean', global: true } },
    { spec: 'dinov3mls-vit-l16[layers=1.0]', expect: { layers: [0, 1], combine: 'mean', global: true } },
    { spec: 'dinov3-vit-l16[layers=1.0,combine=sum]', expect: { layers: [0, 1], combine: 'sum', global: true } },
    { spec: `hf:${fixtureDir(FAMILY)}[last2,sum]`, expect: { layers: [0, 1], combine: 'sum', global: true } },
    { spec: 'dinov3-vit-l16[layers=1.0,global=false]', expect: { layers: [0, 1], combine: 'mean', global: false } },
    // one block is the original RAE (no global term); the authors' multi-layer preset adds it even then
    { spec: 'dinov3-vit-l16', expect: { layers: [1], combine: 'mean', global: false } },
    { spec: 'dinov3mls-vit-l16[layers=0]', expect: { layers: [0], combine: 'mean', global: true } },
  ];
  for (const { spec, expect } of cases) {
    const { encoder, selection } = await loadEncoder(spec);
    try {
      assert.deepEqual(selection, expect, spec);
      const z = latentFromOutput(encoder, fixtureOutput(io), selection);
      assertClose(z, reference(io, expect.layers, expect.combine, expect.global), 2e-5, spec);
      z.dispose();
    } finally {
      encoder.dispose();
    }
  }
  // the global term is the token-mean of the deepest block, broadcast: subtracting it leaves the plain mean
  const withG = reference(io, [0, 1], 'mean', true), without = reference(io, [0, 1], 'mean', false);
  const g = withG.map((v, i) => v - without[i]);
  assert.ok(Math.abs(g[0] - g[32]) < 1e-12 && Math.abs(g[0]) > 1e-3, 'same global vector on every token, not zero');
  for (const t of io.values()) t.dispose();
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
});

test('the published multi-layer names give the same latent as the family names, end to end through the encoder', async () => {
  await useBackend('cpu');
  const io = loadIO(FAMILY);
  const a = await loadEncoder('dinov3-vit-l16[layers=0.1]');
  const b = await loadEncoder('dinov3mls-vit-l16[layers=1.0]');
  try {
    const images = tf.tidy(() => tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 3));
    const za = rawLatent(a.encoder, a.selection, images), zb = rawLatent(b.encoder, b.selection, images);
    assertClose(za, zb, 0, 'dinov3-vit-l16 vs dinov3mls-vit-l16');
    tf.dispose([images, za, zb]);
    // from the fixture's pixels, the encoder's own hidden states give the float64 reference latent
    const out = a.encoder.forward(io.get('pixel_values')!);
    const z = latentFromOutput(a.encoder, out, a.selection);
    assertClose(z, reference(io, [0, 1], 'mean', true), 1e-4, 'encoder forward → latent');
    tf.dispose(z);
    disposeOutput(out);
  } finally {
    a.encoder.dispose();
    b.encoder.dispose();
    for (const t of io.values()) t.dispose();
  }
  // a preset's default blocks are the authors' (ViT-L: 5.11.17.23); the 2-block fixture cannot hold them
  await assert.rejects(loadEncoder('dinov3mls-vit-l16'), /'dinov3mls-vit-l16': layer 5 is out of range: the encoder has blocks 0…1/);
  assert.deepEqual(MULTI_LAYER_PRESETS['dinov3mls-vit-l16'].layers, [5, 11, 17, 23]);
  assert.equal(MULTI_LAYER_PRESETS['dinov3mls-vit-l16'].id, HF_ENCODERS['dinov3-vit-l16'].id);
  assert.equal(MULTI_LAYER_PRESETS['dinov2mls-vit-b'].globalTerm, 'never');
});

test('SigLIP-2 multi-layer specs add the global term by default; DINOv2 ones do not', async () => {
  await useBackend('cpu');
  for (const [spec, global] of [
    ['siglip2mls-vit-l[layers=0.1]', true],
    [`hf:${fixtureDir('siglip2_vision')}[layers=1.0]`, true],
    [`hf:${fixtureDir('siglip2_vision')}[layers=1]`, false],
    [`hf:${fixtureDir('dinov2_with_registers')}[layers=0.1]`, false],
  ] as const) {
    const { encoder, selection } = await loadEncoder(spec);
    encoder.dispose();
    assert.equal(selection.global, global, spec);
  }
});
