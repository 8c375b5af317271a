import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  tf,
  Rng,
  LPIPS,
  VGG16_CONVS,
  LPIPS_SHIFT,
  LPIPS_SCALE,
  Discriminator,
  TokenConv1d,
  adaptiveWeight,
  combineGrads,
  diffAugment,
  discriminatorLoss,
  featureDistance,
  ganSchedule,
  ganPhase,
  generatorLoss,
  l1Loss,
  perceptualLoss,
  quantize8bit,
  saveSafetensors,
  type Tensor,
} from '@raev2/core';
import { assertClose, testBackends, useBackend } from '../../helpers/fixtures.js';

const f64 = (t: Tensor) => Float64Array.from(t.dataSync());
const relClose = (a: number, b: number, rtol: number, what: string) => assert.ok(Math.abs(a - b) <= rtol * Math.max(1e-12, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('l1Loss equals the float64 mean |x̂ − x|', async () => {
  await useBackend('cpu');
  const rng = new Rng(1);
  const a = rng.randn([2, 5, 4, 3]), b = rng.rand([2, 5, 4, 3]);
  const before = tf.memory().numTensors;
  const l = l1Loss(a, b);
  const x = f64(a), y = f64(b);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.abs(x[i] - y[i]);
  relClose(l.dataSync()[0], s / x.length, 1e-6, 'l1');
  l.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([a, b]);
});

/** Σ_l mean_t Σ_c (a/‖a‖ − b/‖b‖)² per image, float64. */
function refFeatureDistance(fa: Tensor[], fb: Tensor[]): number[] {
  const bsz = fa[0].shape[0];
  const out = new Array<number>(bsz).fill(0);
  fa.forEach((a, l) => {
    const c = a.shape[a.rank - 1], x = f64(a), y = f64(fb[l]);
    const tokens = x.length / bsz / c;
    for (let b = 0; b < bsz; b++) {
      let acc = 0;
      for (let t = 0; t < tokens; t++) {
        const o = (b * tokens + t) * c;
        let nx = 0, ny = 0;
        for (let k = 0; k < c; k++) { nx += x[o + k] ** 2; ny += y[o + k] ** 2; }
        nx = Math.sqrt(nx) + 1e-10; ny = Math.sqrt(ny) + 1e-10;
        for (let k = 0; k < c; k++) acc += (x[o + k] / nx - y[o + k] / ny) ** 2;
      }
      out[b] += acc / tokens;
    }
  });
  return out;
}

test('perceptual feature distance: unit-normalised squared differences match float64; 0 for identical inputs', async () => {
  await useBackend('cpu');
  const rng = new Rng(2);
  const fa = [rng.randn([2, 6, 5]), rng.randn([2, 3, 3, 7])];
  const fb = [rng.randn([2, 6, 5]), rng.randn([2, 3, 3, 7])];
  const d = featureDistance(fa, fb);
  assertClose(d, refFeatureDistance(fa, fb), 1e-5, 'featureDistance');
  const z = featureDistance(fa, fa);
  assertClose(z, [0, 0], 1e-6, 'identical');
  // through a tiny fixed "network": images → two token maps
  const w1 = rng.randn([3, 4]), w2 = rng.randn([3, 6]);
  const net = (img: Tensor) => [tf.matMul(img.reshape([-1, 3]), w1).reshape([img.shape[0], -1, 4]), tf.matMul(img.reshape([-1, 3]), w2).reshape([img.shape[0], -1, 6])];
  const xa = rng.rand([2, 4, 4, 3]), xb = rng.rand([2, 4, 4, 3]);
  const before = tf.memory().numTensors;
  const p = perceptualLoss(net, xa, xb);
  assert.equal(tf.memory().numTensors, before + 1, 'perceptualLoss leaks');
  const ref = refFeatureDistance(net(xa), net(xb));
  relClose(p.dataSync()[0], (ref[0] + ref[1]) / 2, 1e-5, 'perceptualLoss');
  tf.dispose([...fa, ...fb, d, z, w1, w2, xa, xb, p]);
});

// ---- LPIPS (VGG16 layout, narrow random widths) ----
const WIDTHS = [4, 4, 5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8];
const TAP_CONVS = [2, 7, 14, 21, 28];

function writeTinyLpips(file: string, lpipsNames = false): Map<string, Float32Array> {
  const rng = new Rng(11);
  const tensors: Record<string, Tensor> = {};
  const host = new Map<string, Float32Array>();
  let inCh = 3;
  VGG16_CONVS.forEach((idx, n) => {
    const out = WIDTHS[n];
    const w = rng.normalArray(out * inCh * 9, 0, Math.sqrt(2 / (inCh * 9)));
    const b = rng.normalArray(out, 0, 0.1);
    // the lpips package's names: slice k holds torchvision's layer idx under the same number
    const slice = idx < 4 ? 1 : idx < 9 ? 2 : idx < 16 ? 3 : idx < 23 ? 4 : 5;
    const base = lpipsNames ? `net.slice${slice}.${idx}` : `features.${idx}`;
    tensors[`${base}.weight`] = tf.tensor4d(w, [out, inCh, 3, 3]);
    tensors[`${base}.bias`] = tf.tensor1d(b);
    host.set(`features.${idx}.weight`, w);
    host.set(`features.${idx}.bias`, b);
    inCh = out;
  });
  TAP_CONVS.forEach((idx, k) => {
    const c = WIDTHS[VGG16_CONVS.indexOf(idx as never)];
    const w = rng.uniformArray(c, 0, 1);
    tensors[`lin${k}.model.1.weight`] = tf.tensor4d(w, [1, c, 1, 1]);
    host.set(`lin${k}`, w);
  });
  saveSafetensors(file, tensors);
  tf.dispose(Object.values(tensors));
  return host;
}

/** Float64 VGG16-LPIPS on NHWC images (naive conv, same padding, 2×2 max pool). */
function refLpips(w: Map<string, Float32Array>, a: Float64Array, b: Float64Array, bsz: number, size: number): number[] {
  const feats = (img: Float64Array, n: number) => {
    let h = size, wd = size, c = 3;
    let x = new Float64Array(h * wd * 3);
    for (let i = 0; i < h * wd; i++) for (let k = 0; k < 3; k++) x[i * 3 + k] = (2 * img[(n * h * wd + i) * 3 + k] - 1 - LPIPS_SHIFT[k]) / LPIPS_SCALE[k];
    const taps: { x: Float64Array; h: number; w: number; c: number }[] = [];
    VGG16_CONVS.forEach((idx, li) => {
      if ([5, 10, 17, 24].includes(idx)) {
        const h2 = Math.floor(h / 2), w2 = Math.floor(wd / 2), y = new Float64Array(h2 * w2 * c);
        for (let i = 0; i < h2; i++) for (let j = 0; j < w2; j++) for (let k = 0; k < c; k++) {
          y[(i * w2 + j) * c + k] = Math.max(x[((2 * i) * wd + 2 * j) * c + k], x[((2 * i) * wd + 2 * j + 1) * c + k], x[((2 * i + 1) * wd + 2 * j) * c + k], x[((2 * i + 1) * wd + 2 * j + 1) * c + k]);
        }
        x = y; h = h2; wd = w2;
      }
      const o = WIDTHS[li], W = w.get(`features.${idx}.weight`)!, B = w.get(`features.${idx}.bias`)!;
      const y = new Float64Array(h * wd * o);
      for (let i = 0; i < h; i++) for (let j = 0; j < wd; j++) for (let oc = 0; oc < o; oc++) {
        let s = B[oc];
        for (let di = -1; di <= 1; di++) for (let dj = -1; dj <= 1; dj++) {
          const ii = i + di, jj = j + dj;
          if (ii < 0 || jj < 0 || ii >= h || jj >= wd) continue;
          for (let ic = 0; ic < c; ic++) s += W[((oc * c + ic) * 3 + (di + 1)) * 3 + (dj + 1)] * x[(ii * wd + jj) * c + ic];
        }
        y[(i * wd + j) * o + oc] = Math.max(s, 0);
      }
      x = y; c = o;
      if (TAP_CONVS.includes(idx)) taps.push({ x, h, w: wd, c });
    });
    return taps;
  };
  const out: number[] = [];
  for (let n = 0; n < bsz; n++) {
    const fa = feats(a, n), fb = feats(b, n);
    let d = 0;
    fa.forEach((t, k) => {
      const lin = w.get(`lin${k}`)!, u = fb[k];
      let acc = 0;
      for (let p = 0; p < t.h * t.w; p++) {
        let na = 0, nb = 0;
        for (let ch = 0; ch < t.c; ch++) { na += t.x[p * t.c + ch] ** 2; nb += u.x[p * t.c + ch] ** 2; }
        na = Math.sqrt(na) + 1e-10; nb = Math.sqrt(nb) + 1e-10;
        for (let ch = 0; ch < t.c; ch++) acc += lin[ch] * (t.x[p * t.c + ch] / na - u.x[p * t.c + ch] / nb) ** 2;
      }
      d += acc / (t.h * t.w);
    });
    out.push(d);
  }
  return out;
}

for (const backend of testBackends()) {
  test(`LPIPS from a tiny random-weights file: 0 for identical images, matches float64 (${backend})`, async () => {
    await useBackend(backend);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-lpips-'));
    const file = path.join(dir, 'lpips.safetensors');
    const host = writeTinyLpips(file);
    const before = tf.memory().numTensors;
    const lp = LPIPS.fromFile(file);
    const rng = new Rng(3);
    const a = rng.rand([2, 16, 16, 3]), b = rng.rand([2, 16, 16, 3]);
    const same = lp.distance(a, a);
    assertClose(same, [0, 0], 1e-6, 'LPIPS(x, x)');
    const d = lp.distance(a, b);
    const ref = refLpips(host, f64(a), f64(b), 2, 16);
    const diff = Math.max(...Array.from(d.dataSync()).map((v, i) => Math.abs(v - ref[i])));
    console.log(`  [${backend}] LPIPS ${Array.from(d.dataSync()).map((v) => v.toFixed(5))} vs float64 ${ref.map((v) => v.toFixed(5))} (max abs diff ${diff.toExponential(2)})`);
    for (let i = 0; i < 2; i++) relClose(d.dataSync()[i], ref[i], 1e-4, `LPIPS image ${i}`);
    // gradients reach the input (conv / max-pool backprop on this backend)
    const g = tf.grad((x: Tensor) => lp.loss(x, b))(a);
    const gsum = tf.tidy(() => g.abs().sum().dataSync()[0]);
    assert.ok(Number.isFinite(gsum) && gsum > 0, `LPIPS gradient |g|₁ = ${gsum}`);
    tf.dispose([a, b, same, d, g]);
    lp.dispose();
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    // the lpips package's own key names load to the same network
    const file2 = path.join(dir, 'lpips_pkg.safetensors');
    writeTinyLpips(file2, true);
    const lp2 = LPIPS.fromFile(file2);
    lp2.dispose();
    fs.rmSync(dir, { recursive: true });
  });
}

test('LPIPS file errors name the file and the tensor', async () => {
  await useBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-lpips-'));
  const file = path.join(dir, 'bad.safetensors');
  const t = tf.zeros([4, 3, 3, 3]);
  saveSafetensors(file, { 'features.0.weight': t });
  t.dispose();
  assert.throws(() => LPIPS.fromFile(file), (e: Error) => e.message.includes(file) && e.message.includes('features.0.bias'));
  assert.throws(() => LPIPS.fromFile(path.join(dir, 'missing.safetensors')), /not found/);
  fs.rmSync(dir, { recursive: true });
});

test('GAN losses on given logits: hinge / vanilla D, hinge / non-saturating G', async () => {
  await useBackend('cpu');
  const real = [0.5, -2, 1.5, 0.9], fake = [-0.3, 1.2, -1.5, 0.1];
  const r = tf.tensor2d(real, [2, 2]), f = tf.tensor2d(fake, [2, 2]);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sp = (x: number) => Math.log1p(Math.exp(x));
  const cases: [tf.Scalar, number, string][] = [
    [discriminatorLoss(r, f, 'hinge'), 0.5 * (mean(real.map((x) => Math.max(0, 1 - x))) + mean(fake.map((x) => Math.max(0, 1 + x)))), 'hinge D'],
    [discriminatorLoss(r, f, 'vanilla'), 0.5 * (mean(real.map((x) => sp(-x))) + mean(fake.map((x) => sp(x)))), 'vanilla D'],
    [generatorLoss(f, 'hinge'), -mean(fake), 'hinge G'],
    [generatorLoss(f, 'nonsaturating'), mean(fake.map((x) => sp(-x))), 'non-saturating G'],
  ];
  for (const [t, want, what] of cases) relClose(t.dataSync()[0], want, 1e-6, what);
  tf.dispose([r, f, ...cases.map((c) => c[0])]);
});

test('quantize8bit: values land on k/255 after clamping; the gradient passes straight through inside [0, 1]', async () => {
  await useBackend('cpu');
  const x = tf.tensor1d([-0.2, 0, 0.1234, 0.5, 0.99999, 1.3, 0.002]);
  const q = quantize8bit(x);
  const v = q.dataSync();
  const want = [-0.2, 0, 0.1234, 0.5, 0.99999, 1.3, 0.002].map((u) => Math.round(Math.min(1, Math.max(0, u)) * 255) / 255);
  assertClose(v, want, 1e-7, 'levels');
  for (const u of v) assert.ok(Math.abs(u * 255 - Math.round(u * 255)) < 1e-4, `${u} is not a k/255 level`);
  const g = tf.grad((t: Tensor) => quantize8bit(t).mul(tf.tensor1d([1, 2, 3, 4, 5, 6, 7])).sum())(x);
  assert.deepEqual(Array.from(g.dataSync()), [0, 2, 3, 4, 5, 0, 7]);
  tf.dispose([x, q, g]);
});

test('DiffAugment: the same seed gives the same result, another seed another; translation and cutout are exact', async () => {
  await useBackend('cpu');
  const img = new Rng(4).rand([3, 8, 8, 3]);
  const a = diffAugment(img, new Rng(9)), b = diffAugment(img, new Rng(9)), c = diffAugment(img, new Rng(10));
  assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
  assert.ok(Array.from(a.dataSync()).some((v, i) => v !== c.dataSync()[i]), 'different seeds should differ');
  // translation alone: output(i, j) = input(i + ty, j + tx), mid-grey (0 in [−1, 1]) outside
  const rng = new Rng(5);
  const t = diffAugment(img, rng, { policies: ['translation'] });
  const r2 = new Rng(5);
  const ty = Array.from({ length: 3 }, () => r2.int(3) - 1), tx = Array.from({ length: 3 }, () => r2.int(3) - 1);
  const src = img.arraySync() as number[][][][], out = t.arraySync() as number[][][][];
  for (let n = 0; n < 3; n++) for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) for (let k = 0; k < 3; k++) {
    const si = i + ty[n], sj = j + tx[n];
    const want = si >= 0 && si < 8 && sj >= 0 && sj < 8 ? src[n][si][sj][k] : 0.5;
    assert.ok(Math.abs(out[n][i][j][k] - want) < 1e-6, `translation n=${n} (${i},${j})`);
  }
  // cutout alone: a 4×4 square (clipped) becomes mid-grey, the rest is unchanged
  const cut = diffAugment(img, new Rng(6), { policies: ['cutout'], cutoutRatio: 0.5 }).arraySync() as number[][][][];
  for (let n = 0; n < 3; n++) {
    let grey = 0;
    for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) {
      if (cut[n][i][j].every((v) => Math.abs(v - 0.5) < 1e-6)) grey++;
      else assert.deepEqual(cut[n][i][j].map((v) => v.toFixed(5)), src[n][i][j].map((v) => v.toFixed(5)));
    }
    assert.ok(grey >= 4 && grey <= 16, `cutout zeroed ${grey} pixels`);
  }
  tf.dispose([img, a, b, c, t]);
});

test('TokenConv1d: circular conv over tokens matches float64', async () => {
  await useBackend('cpu');
  const rng = new Rng(7);
  const conv = new TokenConv1d(3, 2, 3, rng);
  const x = rng.randn([2, 5, 3]);
  const y = conv.forward(x);
  const W = f64(conv.weight), B = f64(conv.bias), X = f64(x), out: number[] = [];
  for (let b = 0; b < 2; b++) for (let t = 0; t < 5; t++) for (let o = 0; o < 2; o++) {
    let s = B[o];
    for (let j = 0; j < 3; j++) for (let c = 0; c < 3; c++) s += W[(o * 3 + c) * 3 + j] * X[(b * 5 + ((t + j - 1 + 5) % 5)) * 3 + c];
    out.push(s);
  }
  assertClose(y, out, 1e-5, 'TokenConv1d');
  tf.dispose([x, y]);
  conv.dispose();
});

test('adaptiveWeight equals ‖∇_W L_rec‖ / (‖∇_W L_G‖ + 1e-6) from tf.grads of each loss; clamps; combineGrads adds', async () => {
  await useBackend('cpu');
  const rng = new Rng(8);
  const W = tf.variable(rng.randn([4, 3]));
  const x = rng.randn([5, 3]), y = rng.randn([5, 4]);
  const lRec = () => tf.matMul(x, W, false, true).sub(y).abs().mean() as tf.Scalar;
  const lG = () => tf.matMul(x, W, false, true).mean().neg() as tf.Scalar;
  const gr = tf.grad(() => lRec())(W), gg = tf.grad(() => lG())(W);
  // reference: plain float64 norms of the autograd gradients
  const n = (t: Tensor) => Math.sqrt(f64(t).reduce((s, v) => s + v * v, 0));
  relClose(adaptiveWeight(gr, gg), n(gr) / (n(gg) + 1e-6), 1e-12, 'λ');
  const zero = tf.zerosLike(gg);
  assert.equal(adaptiveWeight(gr, zero), Math.min(n(gr) / 1e-6, 1e4));
  assert.equal(adaptiveWeight(gr, gg, 0.01), 0.01);
  const sum = combineGrads(new Map([['w', gr]]), new Map([['w', gg], ['v', gg]]), 0.5);
  assertClose(sum.get('w')!, Array.from(f64(gr)).map((v, i) => v + 0.5 * f64(gg)[i]), 1e-6, 'combined');
  assertClose(sum.get('v')!, Array.from(f64(gg)).map((v) => 0.5 * v), 1e-7, 'only in b');
  tf.dispose([W, x, y, gr, gg, zero, ...sum.values()]);
});

test('GAN schedule: published 6/16 and 8/16 scaled to short runs; explicit epochs win', () => {
  assert.deepEqual(ganSchedule(16, 10), { discStartStep: 60, ganStartStep: 80 });
  assert.deepEqual(ganSchedule(4, 25), { discStartStep: 38, ganStartStep: 50 });
  assert.deepEqual(ganSchedule(4, 25, 1, 2), { discStartStep: 25, ganStartStep: 50 });
  const s = ganSchedule(16, 10);
  assert.deepEqual(ganPhase(59, s), { trainDisc: false, useGan: false });
  assert.deepEqual(ganPhase(60, s), { trainDisc: true, useGan: false });
  assert.deepEqual(ganPhase(80, s), { trainDisc: true, useGan: true });
});

test('Discriminator: per-token logits for every tapped map, gradients reach heads and input on wasm', async () => {
  await useBackend(testBackends()[0]);
  const rng = new Rng(12);
  const w1 = rng.randn([3, 6]), w2 = rng.randn([3, 5]);
  const backbone = (img: Tensor) => [
    tf.matMul(img.reshape([-1, 3]), w1).reshape([img.shape[0], -1, 6]),
    tf.avgPool(img as tf.Tensor4D, 2, 2, 'valid').reshape([-1, 3]).matMul(w2).reshape([img.shape[0], 2, 2, 5]),
  ];
  const d = new Discriminator(backbone, { channels: [6, 5], kernel: 3, rng });
  const img = rng.rand([2, 4, 4, 3]);
  const before = tf.memory().numTensors;
  const logits = d.forward(img);
  assert.deepEqual(logits.shape, [2, 16 + 4]);
  const { value, grads } = tf.variableGrads(() => d.forward(img).mean() as tf.Scalar, d.namedParameters().map(([, v]) => v));
  assert.equal(Object.keys(grads).length, d.namedParameters().length, 'every head parameter gets a gradient');
  const gi = tf.grad((x: Tensor) => d.forward(x).mean())(img);
  assert.ok(tf.tidy(() => gi.abs().sum().dataSync()[0]) > 0);
  tf.dispose([logits, gi, value, ...Object.values(grads)]);
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
  d.dispose();
  tf.dispose([w1, w2, img]);
});
