/**
 * The demo's pure parts: budget planning, the flags (errors name the flag), the emoji manifest
 * (classes, dropped categories, same split in both stages), the SVG plots (points land where an
 * independent computation puts them) and the HTML escaping. No training here (see demo.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError, emojiDataset, jsonlManifest, classCounts, stage1Split, openDataSource } from '@raev2/core';
import {
  demoTrainingCommand,
  DEFAULT_ARCH,
  QUICK_ARCH,
  PLOT_MARGIN,
  PARALLEL_SLOWDOWN,
  SETUP_SEC,
  emaForSteps,
  escapeXml,
  linePlot,
  niceTicks,
  parseDemoArgs,
  perClassIndices,
  planDemo,
  writeDemoManifest,
  type PlanInput,
  type StepCosts,
} from '@raev2/cli';

const costs: StepCosts = { encodePerImage: 0.005, featuresPerImage: 0.004, decoderStep: 0.5, decodePerImage: 0.001, ditStep: 0.3, ditForwardPerSample: 0.002 };
const input = (o: Partial<PlanInput> = {}): PlanInput => ({ arch: DEFAULT_ARCH, budgetSec: 1200, costs, trainImages: 1700, heldOutImages: 190, numClasses: 9, samplesPerClass: 8, sampleSteps: 50, gan: false, kSweep: false, parallel: false, ...o });

test('planDemo: the estimate fills the budget, steps follow the measured costs (sequential and parallel)', () => {
  const p = planDemo(input());
  assert.equal(p.overBudget, false);
  // everything but the 5 % reserve is planned (rounding steps down loses < one step per run)
  assert.ok(p.totalSec <= 0.95 * 1200 + 1e-6 && p.totalSec > 0.95 * 1200 - costs.decoderStep - costs.ditStep, `total ${p.totalSec}`);
  // recompute the plan independently from the counts and the costs
  const all = 1700 + 190, m = p.metricCount, a = DEFAULT_ARCH;
  assert.equal(m, 190);
  const latentEval = m * a.metrics.steps * 0.002, fullEval = latentEval + m * (0.001 + 0.004);
  const fixed = SETUP_SEC + 1700 * 0.005 + 190 * (0.005 + 0.001 + 0.008) + (3 * fullEval + all * 0.004) + (9 * 8 * (50 * 0.002 + 0.001) + 2);
  const window = 0.95 * 1200 - fixed;
  const decoderFixed = 1700 * 0.005, ditFixed = all * 0.005 + a.metrics.evals * latentEval;
  const rest = window - decoderFixed - ditFixed;
  assert.equal(p.decoderSteps, Math.floor((rest * a.decoderShare) / 0.5));
  assert.equal(p.ditSteps, Math.floor((rest * (1 - a.decoderShare)) / 0.3));
  assert.equal(p.metricEvery, Math.ceil(p.ditSteps / a.metrics.evals));
  // on two cores each run has the whole window
  const q = planDemo(input({ parallel: true }));
  assert.equal(q.decoderSteps, Math.floor((window - decoderFixed) / (0.5 * PARALLEL_SLOWDOWN)));
  assert.equal(q.ditSteps, Math.floor((window - ditFixed) / (0.3 * PARALLEL_SLOWDOWN)));
  assert.equal(q.estimates.train, Math.max(q.decoderSec, q.ditSec));
  // twice the budget → more than twice the trainable steps (the fixed work does not grow)
  const r = planDemo(input({ budgetSec: 2400 }));
  assert.ok(r.ditSteps > 2 * p.ditSteps && r.decoderSteps > 2 * p.decoderSteps);
  // a slower DiT gets fewer steps
  assert.ok(planDemo(input({ costs: { ...costs, ditStep: 0.6 } })).ditSteps < p.ditSteps);
});

test('planDemo: minimum steps when over budget, fixed steps from flags, the K sweep splits the decoder time', () => {
  const tiny = planDemo(input({ budgetSec: 30 }));
  assert.equal(tiny.overBudget, true);
  assert.equal(tiny.decoderSteps, DEFAULT_ARCH.minSteps.decoder);
  assert.equal(tiny.ditSteps, DEFAULT_ARCH.minSteps.dit);
  const fixed = planDemo(input({ decoderSteps: 700, ditSteps: 900 }));
  assert.deepEqual([fixed.decoderSteps, fixed.ditSteps, fixed.overBudget], [700, 900, false]);
  const sweep = planDemo(input({ kSweep: true }));
  assert.ok(sweep.decoderSteps < planDemo(input()).decoderSteps / 2.5, 'three decoders share the decoder time');
  assert.ok(sweep.totalSec <= 0.95 * 1200 + 1e-6, 'the sweep still fits the budget');
  assert.ok(DEFAULT_ARCH.decoder.perceptual === 0 && QUICK_ARCH.maxPerClass != null);
});

test('emaForSteps keeps e^-5 of the initial weights, within [0.9, 0.9978]', () => {
  assert.equal(emaForSteps(10), 0.9);
  assert.equal(emaForSteps(1e6), 0.9978);
  const d = emaForSteps(1000);
  assert.ok(Math.abs(d ** 1000 - Math.exp(-5)) < 1e-3, `${d}^1000 = ${d ** 1000}`);
});

test('demo flags: defaults, and errors that name the flag', () => {
  const f = parseDemoArgs([]);
  assert.equal(f.out, 'outputs/demo');
  assert.equal(f.quick, false);
  assert.equal(f.train, false);
  assert.equal(parseDemoArgs(['--train']).train, true);
  assert.equal(f['guidance-scale'], 1.78);
  assert.equal(parseDemoArgs(['--quick', '--budget', '12.5', '--threads', '1']).budget, 12.5);
  const bad = (argv: string[], flag: string) => assert.throws(() => parseDemoArgs(argv), (e: Error) => e instanceof UsageError && e.message.includes(flag), `${argv.join(' ')} should name ${flag}`);
  bad(['--budget', 'soon'], '--budget');
  bad(['--budget', '-3'], '--budget');
  bad(['--threads', '99'], '--threads');
  bad(['--skin-tones', 'maybe'], '--skin-tones');
  bad(['--per-class', '0'], '--per-class');
  bad(['--bogus'], 'bogus');
});

test('the training command recorded with a shipped checkpoint parses back to the same flags', () => {
  const key = { pretrained: false, quick: false, budget: null, perceptual: 0.1, seed: 3, classes: 'Flags,Symbols', skinTones: 'on', gan: 'off', kSweep: true, decoderSteps: 14000, ditSteps: 3200 };
  const cmd = demoTrainingCommand(key, 'outputs/pretrain');
  assert.match(cmd, /^npm run demo -- --train /);
  const f = parseDemoArgs(cmd.split(' ').slice(4));
  assert.deepEqual(
    [f.train, f.quick, f.budget, f.perceptual, f.seed, f.classes, f['skin-tones'], f.gan, f['k-sweep'], f['decoder-steps'], f['dit-steps'], f.out],
    [true, false, undefined, 0.1, 3, 'Flags,Symbols', 'on', 'off', true, 14000, 3200, 'outputs/pretrain'],
  );
});

test('the emoji manifest: categories, the dropped ones, the per-class cap, one split for both stages', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-demo-data-'));
  try {
    const d = writeDemoManifest(dir);
    const ref = emojiDataset({ style: 'google', skinTones: false });
    const counts = classCounts(ref);
    const expectKept = ref.classes!.filter((_, i) => counts[i] >= 40);
    assert.deepEqual(d.classes.map((c) => c.name), expectKept);
    assert.deepEqual(d.dropped.map((c) => c.name), ['Component']);
    const ds = jsonlManifest(d.manifest);
    assert.equal(ds.size, d.total);
    assert.deepEqual(ds.classes, expectKept);
    assert.deepEqual(classCounts(ds), d.classes.map((c) => c.count));
    // stage 1 and stage 2 open the same source with the same seed → the same held-out items
    const a = stage1Split(openDataSource(d.source), 0.1, 0).heldOut!, b = stage1Split(openDataSource(d.source), 0.1, 0).heldOut!;
    assert.deepEqual(Array.from({ length: a.size }, (_, i) => a.get(i).key), Array.from({ length: b.size }, (_, i) => b.get(i).key));
    const capped = writeDemoManifest(path.join(dir, 'q'), { maxPerClass: 5, classes: ['Flags', 'Objects'] });
    assert.deepEqual(capped.classes, [{ name: 'Flags', count: 5 }, { name: 'Objects', count: 5 }]);
    assert.throws(() => writeDemoManifest(dir, { classes: ['Flags', 'Nope'] }), /Nope/);
    // per-class picks: at most k of each class, grouped by class
    const idx = perClassIndices(ds, 2);
    const labels = idx.map((i) => ds.get(i).label!);
    assert.deepEqual(labels, expectKept.flatMap((_, l) => [l, l]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('linePlot puts points where the axes say, drops non-finite values, escapes text', () => {
  const W = 400, H = 200;
  const svg = linePlot([{ name: 'a<b', points: [[0, 1], [10, 3], [5, NaN]] }], { title: 'T & t', xLabel: 'x', yLabel: 'y', width: W, height: H });
  const pts = /points="([^"]+)"/.exec(svg)![1].split(' ').map((p) => p.split(',').map(Number));
  assert.equal(pts.length, 2, 'the NaN point is dropped');
  // x spans [0, 10] over the plot width; y spans [1, 3] over its height (upwards)
  const m = PLOT_MARGIN, pw = W - m.left - m.right, ph = H - m.top - m.bottom;
  assert.deepEqual(pts[0], [m.left, m.top + ph]);
  assert.deepEqual(pts[1], [m.left + pw, m.top]);
  assert.ok(svg.includes('a&lt;b') && svg.includes('T &amp; t') && !svg.includes('a<b'));
  assert.ok(!/NaN|Infinity/.test(svg));
  // log axis: 1, 10, 100 are evenly spaced
  const log = linePlot([{ name: 's', points: [[0, 1], [1, 10], [2, 100]] }], { title: 't', xLabel: 'x', yLabel: 'y', logY: true, width: W, height: H });
  const ly = /points="([^"]+)"/.exec(log)![1].split(' ').map((p) => Number(p.split(',')[1]));
  assert.ok(Math.abs((ly[0] - ly[1]) - (ly[1] - ly[2])) < 0.2, `log spacing ${ly}`);
  assert.ok(linePlot([], { title: 'empty', xLabel: 'x', yLabel: 'y' }).includes('no data'));
  const t01 = niceTicks(0, 1);
  assert.equal(t01.length, 6);
  t01.forEach((v, i) => assert.ok(Math.abs(v - 0.2 * i) < 1e-12, `tick ${i} = ${v}`));
  assert.deepEqual(niceTicks(3, 97, 4), [25, 50, 75]);
  assert.equal(escapeXml(`"'&<>`), '&quot;&apos;&amp;&lt;&gt;');
});
