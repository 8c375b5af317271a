/**
 * ONNX helpers: graphs built with onnx-proto and run by onnxruntime-node must match tfjs —
 * MatMul against tf.matMul and a float64 recomputation; the DINOv2 ViT graph against the upstream
 * HF outputs of the reference fixtures and against our tfjs Dinov2Model with random weights.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { tf, Rng, parseWith, initRuntime, loadSafetensors, OnnxGraphBuilder, floatAttr, buildVitOnnx, createOnnxSession, runOnnx, type Tensor } from '@raev2/core';
import { buildMatMulModel } from '../../../bench/onnx_matmul.js';
import { Dinov2Model, Dinov2ConfigSchema } from '@raev2/encoders';
import { assertClose, fixtureDir, loadIO, maxAbsDiff, testBackends, useBackend } from '../../helpers/fixtures.js';

await initRuntime({ backend: 'cpu', log: false });

test('ONNX MatMul equals tf.matMul and a float64 recomputation', async (t) => {
  const [m, k, n] = [37, 53, 29];
  const rng = new Rng(1);
  const a = rng.normalArray(m * k), b = rng.normalArray(k * n);
  const session = await createOnnxSession(buildMatMulModel(m, k, n));
  const at = tf.tensor2d(a, [m, k]), bt = tf.tensor2d(b, [k, n]);
  const before = tf.memory().numTensors;
  const out = await runOnnx(session, { A: at, B: bt });
  const y = out.get('Y')!;
  assert.deepEqual(y.shape, [m, n]);
  const exact = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) { let s = 0; for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j]; exact[i * n + j] = s; }
  assertClose(y, exact, 1e-4, 'ONNX MatMul vs float64');
  for (const backend of testBackends()) {
    await useBackend(backend);
    const ref = tf.matMul(at, bt);
    const d = maxAbsDiff(y, ref);
    t.diagnostic(`${backend}: max abs diff ONNX vs tf.matMul ${d.toExponential(2)}`);
    assert.ok(d <= 1e-4, `${backend}: ONNX MatMul vs tf.matMul ${d}`);
    ref.dispose();
  }
  y.dispose();
  assert.equal(tf.memory().numTensors, before, 'runOnnx leaked tensors');
  tf.dispose([at, bt]);
  await session.release();
});

test('the graph builder rejects ambiguous attributes and duplicate names', () => {
  const g = new OnnxGraphBuilder('t');
  g.input('x', [2]);
  assert.throws(() => g.node('LayerNormalization', ['x'], { epsilon: 1e-6 }), /floatAttr/);
  assert.throws(() => g.input('x', [2]), /used twice/);
  assert.doesNotThrow(() => g.node('LayerNormalization', ['x'], { epsilon: floatAttr(1e-6) }));
});

for (const family of ['dinov2', 'dinov2_with_registers'] as const) {
  test(`ONNX ViT reproduces HF ${family} (hidden states + last_hidden_state)`, async (t) => {
    const weights = loadSafetensors(path.join(fixtureDir(family), 'model.safetensors'));
    const io = loadIO(family);
    const session = await createOnnxSession(buildVitOnnx(weights, { numHeads: 2, eps: 1e-6 }));
    const out = await runOnnx(session, { pixel_values: io.get('pixel_values')! });
    for (const name of ['hidden_states.0', 'hidden_states.1', 'hidden_states.2', 'last_hidden_state']) {
      const d = maxAbsDiff(out.get(name)!, io.get(name)!);
      t.diagnostic(`${name}: max abs diff ${d.toExponential(2)}`);
      assert.ok(d <= 2e-5, `${family} ${name}: ${d}`);
    }
    assert.deepEqual(session.outputNames, ['hidden_states.0', 'hidden_states.1', 'hidden_states.2', 'last_hidden_state']);
    tf.dispose([...out.values(), ...io.values(), ...weights.values()]);
    await session.release();
  });
}

test('ONNX ViT equals our tfjs Dinov2Model (random weights, registers, batch 3) within 1e-4', async (t) => {
  const config = parseWith(Dinov2ConfigSchema, {
    model_type: 'dinov2_with_registers', hidden_size: 48, num_hidden_layers: 3, num_attention_heads: 4,
    patch_size: 8, image_size: 32, num_register_tokens: 2, layerscale_value: 0.5,
  }, 'test config');
  const model = new Dinov2Model(config);
  const rng = new Rng(5);
  model.loadStateDict(new Map(model.namedParameters().map(([k, v]) => [k, rng.randn(v.shape, 0, k.endsWith('weight') && v.rank === 1 ? 1 : 0.2)])));
  const session = await createOnnxSession(buildVitOnnx(model.stateDict(), { numHeads: 4, eps: config.layer_norm_eps }));
  const px = rng.randn([3, 3, 32, 32]);
  const onnxOut = await runOnnx(session, { pixel_values: px });
  for (const backend of testBackends()) {
    await useBackend(backend);
    const ref = model.forward(px);
    let worst = 0;
    ref.hiddenStates.forEach((h, i) => { worst = Math.max(worst, maxAbsDiff(onnxOut.get(`hidden_states.${i}`)!, h)); });
    worst = Math.max(worst, maxAbsDiff(onnxOut.get('last_hidden_state')!, ref.lastHiddenState));
    t.diagnostic(`${backend}: max abs diff ONNX vs tfjs ${worst.toExponential(2)}`);
    assert.ok(worst <= 1e-4, `${backend}: ONNX ViT vs tfjs Dinov2Model ${worst}`);
    tf.dispose([...ref.hiddenStates, ref.lastHiddenState, ...(ref.poolerOutput ? [ref.poolerOutput] : [])] as Tensor[]);
  }
  tf.dispose([...onnxOut.values(), px]);
  model.dispose();
  await session.release();
});
