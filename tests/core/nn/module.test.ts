import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, Module, ModuleList, Linear, LayerNorm, Mlp, type Tensor } from '@raev2/core';
import { useBackend } from '../../helpers/fixtures.js';

class Attn extends Module {
  readonly qkv = this.child('qkv', new Linear(4, 12));
  readonly proj = this.child('proj', new Linear(4, 4, { bias: false }));
}
class Block extends Module {
  readonly norm1 = this.child('norm1', new LayerNorm(4));
  readonly attn = this.child('attn', new Attn());
  readonly mlp = this.child('mlp', new Mlp(4, 8));
}
class Net extends Module {
  readonly blocks = this.child('blocks', new ModuleList([new Block(), new Block()]));
  readonly head = this.child('head', new Linear(4, 2));
  constructor() {
    super();
    this.buffer('pos_embed', tf.zeros([1, 3, 4]));
  }
  pos(): Tensor {
    return this.getBuffer('pos_embed');
  }
}

const BLOCK_KEYS = ['norm1.weight', 'norm1.bias', 'attn.qkv.weight', 'attn.qkv.bias', 'attn.proj.weight', 'mlp.fc1.weight', 'mlp.fc1.bias', 'mlp.fc2.weight', 'mlp.fc2.bias'];
const PARAM_KEYS = [...BLOCK_KEYS.map((k) => `blocks.0.${k}`), ...BLOCK_KEYS.map((k) => `blocks.1.${k}`), 'head.weight', 'head.bias'];
const NUM_PARAMS = 2 * (4 + 4 + 48 + 12 + 16 + 32 + 8 + 32 + 4) + 8 + 2;

/** A state dict of fresh tensors with the net's keys and shapes (values k + 0.5 per key index). */
function fullStateDict(net: Net): Map<string, Tensor> {
  return new Map([...net.stateDict()].map(([k, v], i) => [k, tf.fill(v.shape, i + 0.5)]));
}

test('Module: nested state-dict keys follow PyTorch naming, in registration order, with buffers', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const net = new Net();
  assert.deepEqual(net.namedParameters().map(([k]) => k), PARAM_KEYS);
  assert.deepEqual(net.namedBuffers().map(([k]) => k), ['pos_embed']);
  assert.deepEqual([...net.stateDict().keys()], [...PARAM_KEYS, 'pos_embed']);
  assert.equal(net.numParameters(), NUM_PARAMS);
  assert.deepEqual(net.blocks.at(1).attn.qkv.weight.shape, [12, 4]);
  assert.equal(net.blocks.length, 2);
  assert.equal([...net.blocks].length, 2);
  net.dispose();
  assert.equal(tf.memory().numTensors, before, 'dispose must release every parameter and buffer');
});

test('Module.loadStateDict strict: the error names missing, unexpected and mis-shaped keys and the source', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const net = new Net();
  const sd = fullStateDict(net);
  sd.get('head.bias')!.dispose();
  sd.delete('head.bias');
  sd.get('blocks.1.attn.qkv.weight')!.dispose();
  sd.set('blocks.1.attn.qkv.weight', tf.zeros([12, 5]));
  sd.set('blocks.0.attn.extra', tf.zeros([2]));
  const w0 = net.head.weight.dataSync().slice();
  assert.throws(() => net.loadStateDict(sd, { source: 'ckpt/model.safetensors' }), (e: Error) => {
    assert.match(e.message, /from ckpt\/model\.safetensors/);
    assert.match(e.message, /missing keys \(1\): head\.bias/);
    assert.match(e.message, /unexpected keys \(1\): blocks\.0\.attn\.extra/);
    assert.match(e.message, /blocks\.1\.attn\.qkv\.weight: expected shape \[12,4\], got \[12,5\]/);
    return true;
  });
  assert.deepEqual(net.head.weight.dataSync(), w0, 'a failed strict load changes nothing');
  tf.dispose([...sd.values()]);
  net.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('Module.loadStateDict non-strict: reports problems, loads the rest, replaces buffers without leaks', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const net = new Net();
  const sd = fullStateDict(net);
  const keys = [...sd.keys()];
  sd.get('blocks.0.norm1.weight')!.dispose();
  sd.delete('blocks.0.norm1.weight');
  sd.get('head.weight')!.dispose();
  sd.set('head.weight', tf.zeros([3, 4]));
  sd.set('not.a.key', tf.zeros([1]));
  sd.get('blocks.1.mlp.fc2.bias')!.dispose();
  sd.set('blocks.1.mlp.fc2.bias', tf.tensor([1, 2, 3, 4], [4], 'int32')); // other dtypes are cast to float32
  const report = net.loadStateDict(sd, { strict: false });
  assert.deepEqual(report.missing, ['blocks.0.norm1.weight']);
  assert.deepEqual(report.unexpected, ['not.a.key']);
  assert.deepEqual(report.mismatched, [{ key: 'head.weight', expected: [2, 4], got: [3, 4] }]);
  const mlpBias = net.blocks.at(1).mlp.fc2.bias!;
  assert.equal(mlpBias.dtype, 'float32');
  assert.deepEqual(Array.from(mlpBias.dataSync()), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(net.blocks.at(0).norm1.weight!.dataSync()), [1, 1, 1, 1], 'missing key keeps its value');
  assert.deepEqual(Array.from(net.head.weight.dataSync()).every((v) => v !== 0), true, 'mis-shaped key is not loaded');
  const posIndex = keys.indexOf('pos_embed');
  assert.ok(net.pos().dataSync().every((v) => v === posIndex + 0.5), 'buffer replaced');
  tf.dispose([...sd.values()]);
  assert.ok(net.pos().dataSync().length === 12, 'buffer is a copy, alive after the source is disposed');
  net.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('Module.freeze/train/eval: frozen parameters get no gradients and do not count as trainable', async () => {
  await useBackend('cpu');
  const before = tf.memory().numTensors;
  const net = new Net();
  net.blocks.at(0).freeze();
  const frozen = net.blocks.at(0).numParameters();
  assert.equal(net.numParameters(true), NUM_PARAMS - frozen);
  assert.equal(net.trainableParameters().length, PARAM_KEYS.length - BLOCK_KEYS.length);
  const x = tf.ones([3, 4]);
  const { value, grads } = tf.variableGrads(() => {
    let h = x;
    for (const b of net.blocks) h = b.mlp.forward(b.norm1.forward(h));
    return net.head.forward(h).sum() as tf.Scalar;
  });
  const names = new Set(Object.keys(grads));
  for (const [k, v] of net.namedParameters()) {
    if (k.startsWith('blocks.0.') || k.includes('attn')) assert.ok(!names.has(v.name), `${k} should get no gradient`);
    else assert.ok(names.has(v.name), `${k} should get a gradient`);
  }
  tf.dispose([x, value, ...Object.values(grads)]);
  net.freeze(false);
  assert.equal(net.numParameters(true), NUM_PARAMS);
  net.eval();
  assert.ok(!net.training && !net.blocks.at(1).mlp.fc1.training);
  net.train();
  assert.ok(net.blocks.at(0).attn.proj.training);
  net.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('Module: registering a name twice throws; unknown buffer throws', async () => {
  await useBackend('cpu');
  class Bad extends Module {
    constructor(kind: 'param' | 'child') {
      super();
      if (kind === 'param') {
        this.param('w', tf.zeros([1]));
        this.param('w', tf.zeros([1]));
      } else {
        this.child('c', new LayerNorm(2));
        this.child('c', new LayerNorm(2));
      }
    }
  }
  assert.throws(() => new Bad('param'), /parameter "w" registered twice/);
  assert.throws(() => new Bad('child'), /child "c" registered twice/);
  const ok = new (class extends Module {
    peek(): Tensor {
      return this.getBuffer('nope');
    }
  })();
  assert.throws(() => ok.peek(), /buffer "nope" not registered/);
});
