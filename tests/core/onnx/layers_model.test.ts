/**
 * The offline nsfwjs MobileNetV2 (tfjs-layers) exported by onnx/layers_model.ts and run by
 * onnxruntime equals tfjs' predict on every stage output within 1e-4 (relative to the activations'
 * scale), at two input sizes (dynamic spatial dims, 'same' padding) and a batch of 2; unsupported
 * layers are refused by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, ortLayersModel, buildLayersModelOnnx } from '@raev2/core';
import { loadEncoder } from '@raev2/encoders';
import { maxAbsDiff, useBackend } from '../../helpers/fixtures.js';

test('ONNX MobileNetV2 (nsfwjs) equals tfjs predict on every stage output', async (t) => {
  await useBackend('wasm');
  const { encoder } = await loadEncoder('mobilenetv2-nsfwjs[res=64,stage=13-15]');
  const model = (encoder as unknown as { model: tf.LayersModel }).model;
  const ort = ortLayersModel(model, { threads: 1 });
  for (const side of [64, 96]) {
    const x = tf.randomUniform([2, side, side, 3], 0, 1, 'float32', side);
    const ref = model.predict(x) as tf.Tensor[];
    const out = ort.predict(x);
    assert.equal(out.length, ref.length);
    out.forEach((o, i) => {
      assert.deepEqual(o.shape, ref[i].shape);
      const scale = Math.max(1, ref[i].abs().max().dataSync()[0]);
      const d = maxAbsDiff(o, ref[i]);
      t.diagnostic(`${side}px output ${i} ${ref[i].shape}: max abs diff ${d.toExponential(2)} (max |ref| ${scale.toFixed(2)})`);
      assert.ok(d / scale <= 1e-4, `output ${i}: ${d}`);
    });
    tf.dispose([x, ...ref, ...out]);
  }
  ort.release();
  encoder.dispose();
});

test('layers the exporter does not know are refused by name', async () => {
  await useBackend('wasm');
  const inp = tf.input({ shape: [8, 8, 3] });
  const y = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(inp) as tf.SymbolicTensor;
  const m = tf.model({ inputs: inp, outputs: y });
  assert.throws(() => buildLayersModelOnnx(m), /layer pool of kind MaxPooling2D is not supported/);
  m.dispose();
});

test('CNN stage encoders: forward on onnxruntime (RAEV2_ENGINE=ort) equals tfjs; gradients and unexportable nets stay on tfjs', async (t) => {
  await useBackend('wasm');
  const saved = process.env.RAEV2_ENGINE;
  const setEngine = (e: string) => { process.env.RAEV2_ENGINE = e; };
  try {
    for (const spec of ['mobilenetv2-nsfwjs[res=64,stage=13-15]', 'inceptionv3-nsfwjs[res=64,last2]']) {
      const { encoder } = await loadEncoder(spec);
      const px = encoder.preprocess(tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 5));
      setEngine('tfjs');
      const ref = encoder.forward(px);
      setEngine('ort');
      const before = tf.memory().numTensors;
      const out = encoder.forward(px);
      assert.equal(tf.memory().numTensors, before + out.hiddenStates.length, 'leaked tensors');
      out.hiddenStates.forEach((h, i) => {
        const scale = Math.max(1, ref.hiddenStates[i].abs().max().dataSync()[0]);
        const d = maxAbsDiff(h, ref.hiddenStates[i]);
        t.diagnostic(`${spec} hidden state ${i}: ${d.toExponential(2)}`);
        assert.ok(d / scale <= 1e-4, `${spec} hidden state ${i}: ${d}`);
      });
      if (spec.startsWith('mobilenet')) {
        // inside a gradient the tfjs model runs (onnxruntime has no gradients): a non-zero input gradient
        const g = tf.grad((p: tf.Tensor) => encoder.forward(p).hiddenStates.at(-1)!.square().mean() as tf.Scalar)(px);
        assert.ok(g.abs().max().dataSync()[0] > 0, `${spec}: zero gradient through the encoder`);
        g.dispose();
      }
      tf.dispose([px, ...ref.hiddenStates, ...out.hiddenStates]);
      encoder.dispose();
    }
  } finally {
    if (saved == null) delete process.env.RAEV2_ENGINE;
    else process.env.RAEV2_ENGINE = saved;
  }
});
