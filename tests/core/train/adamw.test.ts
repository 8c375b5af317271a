import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, AdamW, Rng, groupOptimizers, noDecayBiasNorm, type Tensor } from '@raev2/core';
import { assertClose, testBackends, useBackend } from '../../helpers/fixtures.js';

/** A trainable variable owning `t`. */
function own(t: Tensor): tf.Variable {
  const v = tf.variable(t);
  t.dispose();
  return v;
}

/** torch.optim.AdamW (amsgrad=False) written out in float64. */
function adamwRef(p: number[], grads: number[][], o: { lr: number; b1: number; b2: number; eps: number; wd: number }): { p: number[]; m: number[]; v: number[] } {
  p = [...p];
  const m = p.map(() => 0), v = p.map(() => 0);
  grads.forEach((g, k) => {
    const t = k + 1;
    const bc1 = 1 - o.b1 ** t, bc2 = 1 - o.b2 ** t;
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - o.lr * o.wd;
      m[i] = o.b1 * m[i] + (1 - o.b1) * g[i];
      v[i] = o.b2 * v[i] + (1 - o.b2) * g[i] * g[i];
      const denom = Math.sqrt(v[i]) / Math.sqrt(bc2) + o.eps;
      p[i] -= (o.lr / bc1) * (m[i] / denom);
    }
  });
  return { p, m, v };
}

for (const backend of testBackends()) {
  test(`AdamW: 3 steps with weight decay and bias correction match float64 PyTorch formulas [${backend}]`, async () => {
    await useBackend(backend);
    const rng = new Rng(7);
    const p0 = Array.from(rng.normalArray(12));
    const grads = [0, 1, 2].map(() => Array.from(rng.normalArray(12, 0, 0.5)));
    // a tiny gradient exercises eps placement (denominator ≈ eps)
    grads[0][3] = 1e-9;
    const o = { lr: 0.05, b1: 0.9, b2: 0.95, eps: 1e-6, wd: 0.1 };
    const before = tf.memory().numTensors;
    const w = own(tf.tensor(p0, [3, 4]));
    const b = own(tf.tensor(p0.slice(0, 4), [4]));
    const opt = new AdamW([['w', w], ['b', b]], { lr: o.lr, betas: [o.b1, o.b2], eps: o.eps, weightDecay: o.wd, noDecay: noDecayBiasNorm });
    for (const g of grads) {
      const gm = new Map<string, Tensor>([['w', tf.tensor(g, [3, 4])], ['b', tf.tensor(g.slice(0, 4), [4])]]);
      opt.step(gm);
      for (const t of gm.values()) t.dispose();
    }
    const ref = adamwRef(p0, grads, o);
    assertClose(w, ref.p, 2e-6, 'AdamW weight after 3 steps');
    const refB = adamwRef(p0.slice(0, 4), grads.map((g) => g.slice(0, 4)), { ...o, wd: 0 });
    assertClose(b, refB.p, 2e-6, 'AdamW no-decay bias after 3 steps');
    const sd = opt.stateDict();
    assertClose(sd.get('exp_avg/w')!, ref.m, 1e-6, 'exp_avg');
    assertClose(sd.get('exp_avg_sq/w')!, ref.v, 1e-6, 'exp_avg_sq');
    assert.equal(sd.get('step/w')!.dataSync()[0], 3);
    assert.deepEqual([...sd.keys()].sort(), ['exp_avg/b', 'exp_avg/w', 'exp_avg_sq/b', 'exp_avg_sq/w', 'step/b', 'step/w']);
    for (const t of sd.values()) t.dispose();
    opt.dispose();
    w.dispose();
    b.dispose();
    assert.equal(tf.memory().numTensors, before, 'AdamW leaks tensors');
  });
}

test('AdamW: state dict round trip continues identically; bad state names the problem', async () => {
  await useBackend('cpu');
  const rng = new Rng(3);
  const mk = () => tf.variable(tf.tensor(new Rng(1).normalArray(6), [2, 3]));
  const g = () => new Map<string, Tensor>([['w', rng.randn([2, 3])]]);
  const a = mk(), b = mk();
  const oa = new AdamW([['w', a]], { lr: 0.1 });
  const g1 = g(), g2 = g();
  oa.step(g1);
  const sd = oa.stateDict();
  b.assign(a);
  const ob = new AdamW([['w', b]], { lr: 0.1 });
  ob.loadStateDict(sd);
  oa.step(g2);
  ob.step(g2);
  assert.deepEqual(Array.from(b.dataSync()), Array.from(a.dataSync()));
  const bad = new Map<string, Tensor>([['exp_avg/w', tf.zeros([3, 2])], ['exp_avg/zz', tf.zeros([1])]]);
  assert.throws(() => ob.loadStateDict(bad, 'opt.safetensors'), /opt\.safetensors[\s\S]*exp_avg\/w" has shape \[3,2\][\s\S]*zz/);
  assert.throws(() => ob.step(new Map([['nope', g1.get('w')!]])), /does not own: nope/);
  for (const t of [...sd.values(), ...bad.values(), ...g1.values(), ...g2.values()]) t.dispose();
  oa.dispose(); ob.dispose(); a.dispose(); b.dispose();
});

test('OptimizerGroup: routes grads, prefixes state, keeps lr ratios', async () => {
  await useBackend('cpu');
  const x = tf.variable(tf.ones([2])), y = tf.variable(tf.ones([2]));
  const g = groupOptimizers({ gen: new AdamW([['x', x]], { lr: 1e-3 }), disc: new AdamW([['y', y]], { lr: 4e-3 }) });
  g.lr = 5e-4;
  assert.equal(g.members.gen.lr, 5e-4);
  assert.ok(Math.abs(g.members.disc.lr - 2e-3) < 1e-15);
  const grads = new Map<string, Tensor>([['y', tf.ones([2])]]);
  g.step(grads);
  assert.deepEqual(Array.from(x.dataSync()), [1, 1], 'x has no gradient: untouched');
  assert.ok(y.dataSync()[0] < 1);
  const sd = g.stateDict();
  assert.deepEqual([...sd.keys()].sort(), ['disc/exp_avg/y', 'disc/exp_avg_sq/y', 'disc/step/y']);
  for (const t of [...sd.values(), ...grads.values()]) t.dispose();
  assert.throws(() => groupOptimizers({ a: new AdamW([['x', x]], { lr: 1 }), b: new AdamW([['x', x]], { lr: 1 }) }), /"x" is in both/);
  g.dispose(); x.dispose(); y.dispose();
});
