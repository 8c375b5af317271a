import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, type Tensor } from '@raev2/core';
import { assertWasmMatchesCpu, rand } from './compare.js';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/** conv2d value and gradients w.r.t. input and filter through a random cotangent. */
function conv2dWithGrads(xs: number[], fs: number[], strides: number | [number, number], pad: Pad, seed: number): () => Tensor[] {
  return () => {
    const x = rand(xs, seed), f = rand(fs, seed + 1);
    const y = tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, strides, pad);
    const r = rand(y.shape, seed + 2);
    const [gx, gf] = tf.grads((a: Tensor, b: Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad).mul(r).sum())([x, f]);
    return [y, gx, gf];
  };
}

test('wasm Conv2DBackpropFilter: conv2d gradients equal cpu (strides, paddings, 1×1 and patch convs)', async () => {
  const cases: [number[], number[], number | [number, number], Pad][] = [
    [[2, 7, 6, 3], [3, 3, 3, 4], 1, 'same'],
    [[2, 7, 6, 3], [3, 3, 3, 4], 2, 'valid'],
    [[1, 8, 9, 2], [3, 2, 2, 5], [2, 3], 'same'],
    [[2, 8, 8, 3], [4, 4, 3, 6], 4, 'valid'], // patch embedding
    [[2, 5, 5, 4], [1, 1, 4, 3], 1, 'valid'],
    [[1, 6, 7, 2], [3, 3, 2, 2], 1, [[0, 0], [1, 2], [0, 1], [0, 0]]],
  ];
  let seed = 10;
  for (const [xs, fs, s, p] of cases) {
    await assertWasmMatchesCpu(conv2dWithGrads(xs, fs, s, p, seed += 3), 1e-5, `conv2d x${xs} f${fs} s${s} ${JSON.stringify(p)}`);
  }
});

test('wasm Conv2DBackpropFilter kernel with NCHW data equals cpu', async () => {
  await assertWasmMatchesCpu(() => {
    const x = rand([2, 3, 6, 5], 1), dy = rand([2, 4, 3, 3], 2);
    return [tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [2, 2], pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] }) as Tensor];
  }, 1e-5, 'Conv2DBackpropFilter NCHW');
});

test('wasm depthwise conv gradients equal cpu (multiplier 1 and 2, strides, paddings)', async () => {
  const cases: [number[], number[], number, 'same' | 'valid'][] = [
    [[2, 7, 6, 3], [3, 3, 3, 1], 1, 'same'],
    [[2, 7, 6, 3], [3, 3, 3, 2], 2, 'same'],
    [[1, 9, 8, 2], [3, 2, 2, 3], 2, 'valid'],
    [[2, 6, 6, 4], [5, 5, 4, 1], 1, 'same'],
  ];
  let seed = 40;
  for (const [xs, fs, s, p] of cases) {
    await assertWasmMatchesCpu(() => {
      const x = rand(xs, seed), f = rand(fs, seed + 1);
      const conv = (a: Tensor, b: Tensor) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, p);
      const y = conv(x, f);
      const r = rand(y.shape, seed + 2);
      return [y, ...tf.grads((a: Tensor, b: Tensor) => conv(a, b).mul(r).sum())([x, f])];
    }, 1e-5, `depthwiseConv2d x${xs} f${fs} s${s} ${p}`);
    seed += 3;
  }
});

test('wasm depthwise backprop kernels with dilation 2 are the adjoints of the forward conv', async () => {
  // tfjs has no depthwise gradient with dilation (and the cpu kernels are wrong there), so check
  // the adjoint identities <conv(x, f), dy> = <x, dX(dy, f)> = <f, dF(x, dy)> against the cpu forward.
  const { useBackend } = await import('../../helpers/fixtures.js');
  for (const [pad, mult, dyShape] of [['valid', 2, [2, 5, 4, 6]], ['same', 1, [2, 9, 8, 3]]] as const) {
    const inner = async (be: string) => {
      await useBackend(be);
      return tf.tidy(() => {
        const x = rand([2, 9, 8, 3], 5), f = rand([3, 3, 3, mult], 6), dy = rand([...dyShape], 7);
        const attrs = { strides: [1, 1], pad, dilations: [2, 2] };
        const y = tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, pad, 'NHWC', 2);
        const dx = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, { ...attrs, inputShape: x.shape }) as Tensor;
        const df = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: f.shape }) as Tensor;
        return [y.mul(dy).sum(), x.mul(dx).sum(), f.mul(df).sum()].map((t) => t.dataSync()[0]);
      });
    };
    const [ref] = await inner('cpu');
    const [, ax, af] = await inner('wasm');
    assert.ok(Math.abs(ax - ref) < 1e-4 * Math.max(1, Math.abs(ref)), `dX adjoint (${pad}): ${ax} vs ${ref}`);
    assert.ok(Math.abs(af - ref) < 1e-4 * Math.max(1, Math.abs(ref)), `dF adjoint (${pad}): ${af} vs ${ref}`);
  }
});

test('wasm UnsortedSegmentSum: gather gradients equal cpu (repeated indices, axis 0 and 1)', async () => {
  await assertWasmMatchesCpu(() => {
    const table = rand([6, 5], 3);
    const idx = tf.tensor1d([4, 0, 4, 2, 4, 1], 'int32');
    const r0 = rand([6, 5], 4), r1 = rand([6, 6], 5);
    const g0 = tf.grad((t: Tensor) => tf.gather(t, idx, 0).mul(r0).sum())(table);
    const g1 = tf.grad((t: Tensor) => tf.gather(t, tf.tensor1d([4, 0, 4, 2, 4, 1], 'int32'), 1).mul(r1).sum())(table.slice([0, 0], [6, 5]));
    const seg = tf.unsortedSegmentSum(rand([5, 2, 4], 6), tf.tensor1d([0, 2, 2, 1, 0], 'int32'), 4);
    return [g0, g1, seg];
  }, 1e-6, 'gather gradient / unsortedSegmentSum');
});

test('wasm UnsortedSegmentSum kernel matches a direct float64 sum', async () => {
  const { useBackend } = await import('../../helpers/fixtures.js');
  await useBackend('wasm');
  const x = [[1, 2], [3, 4], [5, 6], [7, 8]];
  const ids = [1, 0, 1, 3];
  const out = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor2d(x), tf.tensor1d(ids, 'int32'), 4).arraySync());
  assert.deepEqual(out, [[3, 4], [6, 8], [0, 0], [7, 8]]);
  // 2-D ids index the two leading dims (the cpu kernel cannot do this one)
  const out2 = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor3d([[[1], [2]], [[3], [4]]]), tf.tensor2d([[1, 0], [1, 1]], [2, 2], 'int32') as unknown as tf.Tensor1D, 2).arraySync());
  assert.deepEqual(out2, [[2], [8]]);
});

test('wasm logSoftmax and its gradient equal cpu', async () => {
  await assertWasmMatchesCpu(() => {
    const x = rand([3, 7], 8).mul(5), r = rand([3, 7], 9);
    return [tf.logSoftmax(x), tf.grad((a: Tensor) => tf.logSoftmax(a).mul(r).sum())(x)];
  }, 1e-5, 'logSoftmax');
});

test('wasm Einsum (cpu fallback) equals cpu', async () => {
  await assertWasmMatchesCpu(() => [
    tf.einsum('bij,bjk->bik', rand([2, 3, 4], 1), rand([2, 4, 5], 2)),
    tf.einsum('ij,j->i', rand([3, 4], 3), rand([4], 4)),
  ], 1e-5, 'einsum');
});

test('wasm BatchMatMul with transposes (2-D, 3-D, 4-D, broadcast batch) and its gradients equal cpu', async () => {
  const shapes: [number[], number[]][] = [
    [[5, 4], [4, 3]],
    [[2, 5, 4], [2, 4, 3]],
    [[2, 3, 5, 4], [2, 3, 4, 6]],
    [[1, 5, 4], [3, 4, 2]],
  ];
  let seed = 70;
  for (const [as, bs] of shapes) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const swap = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s);
        await assertWasmMatchesCpu(() => {
          const a = rand(swap(as, ta), seed), b = rand(swap(bs, tb), seed + 1);
          const y = tf.matMul(a, b, ta, tb);
          const r = rand(y.shape, seed + 2);
          // tfjs-core's BatchMatMul gradient does not reduce broadcast batch dims (on every backend): value only
          if (as[0] !== bs[0]) return [y];
          return [y, ...tf.grads((p: Tensor, q: Tensor) => tf.matMul(p, q, ta, tb).mul(r).sum())([a, b])];
        }, 1e-5, `matMul ${as}×${bs} tA=${ta} tB=${tb}`);
        seed += 3;
      }
    }
  }
});

test("wasm (fused, depthwise) conv with pad 'same' and stride > filter size equals cpu (XNNPACK SAME fix)", async () => {
  for (const [xs, fs, s] of [[[1, 9, 9, 2], [2, 2, 2, 3], 3], [[2, 8, 9, 3], [3, 2, 3, 4], [2, 3]]] as [number[], number[], number | [number, number]][]) {
    await assertWasmMatchesCpu(() => {
      const x = rand(xs, 1) as tf.Tensor4D, f = rand(fs, 2) as tf.Tensor4D;
      const dwf = rand([fs[0], fs[1], xs[3], 2], 3) as tf.Tensor4D;
      return [
        tf.conv2d(x, f, s, 'same'),
        tf.fused.conv2d({ x, filter: f, strides: s, pad: 'same', bias: rand([fs[3]], 4), activation: 'relu' }),
        tf.depthwiseConv2d(x, dwf, s, 'same'),
      ];
    }, 1e-5, `same-padding conv x${xs} f${fs} s${s}`);
  }
});

test('wasm composite kernel called directly with bare TensorInfos (as kernels call kernels) works and leaks nothing', async () => {
  const { useBackend } = await import('../../helpers/fixtures.js');
  const ref = await assertWasmMatchesCpu(() => [
    tf.engine().runKernel('Conv2DBackpropFilter', { x: rand([1, 5, 5, 2], 1), dy: rand([1, 5, 5, 3], 2) }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] }) as Tensor,
  ], 1e-5, 'runKernel');
  assert.ok(ref < 1e-5);
  await useBackend('wasm');
  const x = rand([1, 5, 5, 2], 1), dy = rand([1, 5, 5, 3], 2);
  const before = tf.memory().numTensors;
  const kernel = tf.getKernel('Conv2DBackpropFilter', 'wasm')!;
  const info = (t: Tensor) => ({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
  const out = kernel.kernelFunc({ inputs: { x: info(x), dy: info(dy) }, backend: tf.backend(), attrs: { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] } }) as Tensor;
  const viaOp = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] }) as Tensor;
  assert.deepEqual(out.dataSync(), viaOp.dataSync());
  tf.dispose([out, viaOp]);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(x.dataSync().length, 50, 'inputs still alive');
  tf.dispose([x, dy]);
});
