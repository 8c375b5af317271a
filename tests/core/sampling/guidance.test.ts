import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  tf, countNfe, flowGrid, sampleEuler, withGuidance, cfgGuidance, autoGuidance, freeGuidance, guidanceLabel, guidanceNfePerStep, guidanceFromFlags, parseInterval,
  GUIDANCE_METHODS, type Denoiser, type Tensor,
} from '@raev2/core';
import { assertClose, useBackend } from '../../helpers/fixtures.js';

/** A toy conditional denoiser: full = x·(1 + label), base = x·0.5 − label, so every guidance formula has a closed form. */
const toy: Denoiser = (x, _t, cond) => tf.tidy(() => {
  const l = cond.labels!.toFloat().reshape([-1, 1, 1]);
  return { full: x.mul(l.add(1)), base: x.mul(0.5).sub(l) };
}) as unknown as ReturnType<Denoiser>;

const NULL = 7;
const nullCond = (b: number) => ({ labels: tf.fill([b], NULL, 'int32') });

function run(d: Denoiser, xv: number[], tv: number[], labels: number[]): number[][] {
  const x = tf.tensor3d(xv.map((v) => [[v]]));
  const t = tf.tensor1d(tv), l = tf.tensor1d(labels, 'int32');
  const o = d(x, t, { labels: l });
  const out = Array.from(o.full.dataSync()).map((v) => [v]);
  tf.dispose([x, t, l, o.full]);
  o.base?.dispose();
  return out;
}

test('guidance formulas per sample with inclusive t-intervals (float64 closed forms)', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const xv = [1.5, -2, 0.7, 3], tv = [0.05, 0.1, 1, 0.5], lab = [2, 0, 1, 3];
  const full = (x: number, l: number) => x * (1 + l), base = (x: number, l: number) => x * 0.5 - l;
  const near = (got: number[][], want: number[], what: string) => want.forEach((w, i) => assert.ok(Math.abs(got[i][0] - w) < 1e-5, `${what}[${i}]: ${got[i][0]} vs ${w}`));
  // free guidance on [0.1, 1]: sample 0 (t = 0.05) unguided, the others guided
  const ig = run(freeGuidance(toy, { scale: 1.78 }), xv, tv, lab);
  near(ig, xv.map((x, i) => (tv[i] >= 0.1 ? base(x, lab[i]) + 1.78 * (full(x, lab[i]) - base(x, lab[i])) : full(x, lab[i]))), 'free');
  // CFG on [0.1, 0.5]
  const cfg = run(cfgGuidance(toy, { scale: 1.5, interval: [0.1, 0.5], nullCond }), xv, tv, lab);
  const g = (c: number, u: number, w: number) => u + w * (c - u);
  near(cfg, xv.map((x, i) => (tv[i] >= 0.1 && tv[i] <= 0.5 ? g(full(x, lab[i]), full(x, NULL), 1.5) : full(x, lab[i]))), 'cfg');
  // free + CFG = upstream forward_with_ig_and_cfg: IG on both branches, then CFG
  const both = run(cfgGuidance(freeGuidance(toy, { scale: 1.78 }), { scale: 1.5, nullCond }), xv, tv, lab);
  const igv = (x: number, l: number, t: number) => (t >= 0.1 ? g(full(x, l), base(x, l), 1.78) : full(x, l));
  near(both, xv.map((x, i) => g(igv(x, lab[i], tv[i]), igv(x, NULL, tv[i]), 1.5)), 'free+cfg');
  // AutoGuidance with a weaker model
  const weak: Denoiser = (x) => ({ full: x.mul(0.25) });
  const ag = run(autoGuidance(toy, weak, { scale: 2 }), xv, tv, lab);
  near(ag, xv.map((x, i) => g(full(x, lab[i]), 0.25 * x, 2)), 'autoguidance');
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
});

test('NFE per sampling step: free guidance 1 forward of B rows, CFG 1 forward of 2B rows, AutoGuidance 2 forwards', async () => {
  await useBackend('cpu');
  const steps = 6, b = 3;
  const grid = flowGrid(steps, 3);
  const x = tf.randomNormal([b, 4, 2], 0, 1, 'float32', 1);
  const labels = tf.tensor1d([0, 1, 2], 'int32');
  const count = (make: (d: Denoiser) => Denoiser) => {
    const { denoiser, nfe } = countNfe(toy);
    const y = sampleEuler(make(denoiser), x, { grid, cond: { labels }, prediction: 'x' });
    y.dispose();
    return { calls: nfe.calls, rows: nfe.rows };
  };
  assert.deepEqual(count((d) => withGuidance(d, { method: 'none' })), { calls: steps, rows: steps * b });
  assert.deepEqual(count((d) => withGuidance(d, { method: 'free', freeScale: 1.78 })), { calls: steps, rows: steps * b });
  assert.deepEqual(count((d) => withGuidance(d, { method: 'cfg', cfgScale: 1.5 }, { nullCond })), { calls: steps, rows: 2 * steps * b });
  assert.deepEqual(count((d) => withGuidance(d, { method: 'free+cfg', cfgScale: 1.5 }, { nullCond })), { calls: steps, rows: 2 * steps * b });
  const weakCount = countNfe((xx) => ({ full: xx.mul(0.25) }));
  assert.deepEqual(count((d) => withGuidance(d, { method: 'autoguidance', autoScale: 2 }, { weak: weakCount.denoiser })), { calls: steps, rows: steps * b });
  assert.equal(weakCount.nfe.calls, steps);
  tf.dispose([x, labels]);
});

test('guidance config errors are clear', async () => {
  await useBackend('cpu');
  assert.throws(() => withGuidance(toy, { method: 'pag' as 'cfg' }), /unknown guidance "pag" \(known: none, cfg, autoguidance, free, free\+cfg, autoguidance\+cfg, free\+autoguidance\)/);
  assert.throws(() => withGuidance(toy, { method: 'cfg' }), /needs a null condition/);
  assert.throws(() => withGuidance(toy, { method: 'autoguidance' }), /second \(weaker\) model/);
  assert.throws(() => cfgGuidance(toy, { scale: 1, interval: [0.5, 0.2], nullCond }), /tMin < tMax/);
  const noBase: Denoiser = (x) => ({ full: x.clone() });
  const x = tf.zeros([1, 1, 1]), t = tf.ones([1]);
  assert.throws(() => freeGuidance(noBase, { scale: 2 })(x, t, {}), /base head/);
  tf.dispose([x, t] as Tensor[]);
});

test('x- and velocity-space guidance agree (the x → v map is affine with weights summing to 1)', async () => {
  await useBackend('cpu');
  const x = tf.randomNormal([2, 5, 3], 0, 1, 'float32', 4);
  const grid = flowGrid(4, 2);
  const labels = tf.tensor1d([1, 2], 'int32');
  const asVelocity: Denoiser = (xx, t, cond) => tf.tidy(() => {
    const o = toy(xx, t, cond);
    const te = t.reshape([-1, 1, 1]).maximum(0.05);
    return { full: xx.sub(o.full).div(te), base: xx.sub(o.base!).div(te) };
  }) as unknown as ReturnType<Denoiser>;
  const g = (d: Denoiser) => withGuidance(d, { method: 'free+cfg', cfgScale: 1.5 }, { nullCond });
  const a = sampleEuler(g(toy), x, { grid, cond: { labels }, prediction: 'x' });
  const b = sampleEuler(g(asVelocity), x, { grid, cond: { labels }, prediction: 'velocity' });
  assertClose(a, b, 1e-4, 'x-space vs v-space guidance');
  tf.dispose([x, labels, a, b]);
});

test('every guidance combination (config → withGuidance) equals its hand-composed formula (float64), and its NFE per step', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const xv = [1.5, -2, 0.7, 3], tv = [0.05, 0.3, 1, 0.8], lab = [2, 0, 1, 3];
  const W = { cfg: 1.5, free: 1.78, auto: 2.5 };
  const full = (x: number, l: number) => x * (1 + l), base = (x: number, l: number) => x * 0.5 - l;
  const weakF = (x: number, l: number) => 0.25 * x + 0.1 * l;
  const weak: Denoiser = (x, _t, cond) => tf.tidy(() => ({ full: x.mul(0.25).add(cond.labels!.toFloat().reshape([-1, 1, 1]).mul(0.1)) })) as unknown as ReturnType<Denoiser>;
  const g = (c: number, u: number, w: number) => u + w * (c - u);
  // intervals: cfg [0.2, 1], free [0.1, 1], auto [0, 0.9] — each sample sees a different subset
  const inI = (t: number, [lo, hi]: [number, number]) => t >= lo && t <= hi;
  const I = { cfg: [0.2, 1] as [number, number], free: [0.1, 1] as [number, number], auto: [0, 0.9] as [number, number] };
  const fr = (x: number, l: number, t: number) => (inI(t, I.free) ? g(full(x, l), base(x, l), W.free) : full(x, l));
  const cf = (f: (x: number, l: number, t: number) => number) => (x: number, l: number, t: number) => (inI(t, I.cfg) ? g(f(x, l, t), f(x, NULL, t), W.cfg) : f(x, l, t));
  const ag = (f: (x: number, l: number, t: number) => number) => (x: number, l: number, t: number) => (inI(t, I.auto) ? g(f(x, l, t), weakF(x, l), W.auto) : f(x, l, t));
  const plain = (x: number, l: number) => full(x, l);
  const want: Record<string, (x: number, l: number, t: number) => number> = {
    none: plain,
    cfg: cf(plain),
    autoguidance: ag(plain),
    free: fr,
    'free+cfg': cf(fr),
    'autoguidance+cfg': cf(ag(plain)),
    'free+autoguidance': ag(fr),
  };
  const nfeWant: Record<string, number> = { none: 1, cfg: 2, autoguidance: 2, free: 1, 'free+cfg': 2, 'autoguidance+cfg': 4, 'free+autoguidance': 2 };
  assert.deepEqual([...GUIDANCE_METHODS].sort(), Object.keys(want).sort(), 'every method is covered');
  for (const method of GUIDANCE_METHODS) {
    const main = countNfe(toy), wk = countNfe(weak);
    const cfg = { method, cfgScale: W.cfg, cfgInterval: I.cfg, freeScale: W.free, freeInterval: I.free, autoScale: W.auto, autoInterval: I.auto };
    const got = run(withGuidance(main.denoiser, cfg, { nullCond, weak: wk.denoiser }), xv, tv, lab);
    xv.forEach((x, i) => {
      const w = want[method](x, lab[i], tv[i]);
      assert.ok(Math.abs(got[i][0] - w) < 1e-4, `${method}[${i}]: ${got[i][0]} vs ${w}`);
    });
    const rowsPerImage = (main.nfe.rows + wk.nfe.rows) / xv.length;
    assert.equal(rowsPerImage, nfeWant[method], `${method}: network evaluations per image and step`);
    assert.equal(guidanceNfePerStep(method), nfeWant[method]);
  }
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
});

test('guidance labels, interval parsing and flag mapping live in sampling/guidance', () => {
  assert.equal(guidanceLabel(undefined), 'none');
  assert.equal(guidanceLabel({ method: 'free' }), 'free(1.78)');
  assert.equal(guidanceLabel({ method: 'cfg', cfgScale: 1.5 }), 'cfg(1.5)');
  assert.equal(guidanceLabel({ method: 'free+cfg', cfgScale: 2 }), 'free(1.78)+cfg(2)');
  assert.equal(guidanceLabel({ method: 'autoguidance+cfg', autoScale: 2, cfgScale: 3 }), 'autoguidance(2)+cfg(3)');
  assert.equal(guidanceLabel({ method: 'free+autoguidance', freeScale: 1.5, autoScale: 1.2 }), 'free(1.5)+autoguidance(1.2)');
  assert.deepEqual(parseInterval('0.1,1'), [0.1, 1]);
  assert.throws(() => parseInterval('1,0.1', '--interval'), /--interval: "1,0.1" is not tMin,tMax with tMin < tMax/);
  assert.throws(() => parseInterval('0.1', '--interval'), /is not tMin,tMax/);
  // --scale / --interval set the first-named part; parts by name
  assert.deepEqual(guidanceFromFlags({ guidance: 'free', scale: 1.5, interval: [0.2, 1] }), { method: 'free', freeScale: 1.5, freeInterval: [0.2, 1] });
  assert.deepEqual(guidanceFromFlags({ guidance: 'cfg', scale: 4 }), { method: 'cfg', cfgScale: 4 });
  assert.deepEqual(guidanceFromFlags({ guidance: 'autoguidance', scale: 2 }), { method: 'autoguidance', autoScale: 2 });
  assert.deepEqual(guidanceFromFlags({ guidance: 'free+cfg', scale: 1.78, 'cfg-scale': 1.5, 'cfg-interval': [0, 0.5] }), { method: 'free+cfg', freeScale: 1.78, cfgScale: 1.5, cfgInterval: [0, 0.5] });
  assert.deepEqual(guidanceFromFlags({ guidance: 'autoguidance+cfg', 'auto-scale': 2, 'cfg-scale': 3 }), { method: 'autoguidance+cfg', autoScale: 2, cfgScale: 3 });
  assert.deepEqual(guidanceFromFlags({ guidance: 'free+autoguidance', 'free-scale': 1.5, 'auto-scale': 1.2 }), { method: 'free+autoguidance', freeScale: 1.5, autoScale: 1.2 });
  assert.throws(() => guidanceFromFlags({ guidance: 'free', 'cfg-scale': 2 }), /guidance "free" has no cfg part/);
  assert.throws(() => guidanceFromFlags({ scale: 2 }), /choose a guidance with --guidance/);
  assert.throws(() => guidanceFromFlags({ guidance: 'magic' as 'cfg' }), /unknown "magic"/);
});
