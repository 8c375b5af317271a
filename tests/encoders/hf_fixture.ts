/** Shared checks for the HF vision family tests: load a fixture folder, run it, compare every reference output. */
import assert from 'node:assert/strict';
import { tf, type Tensor } from '@raev2/core';
import { loadHFModel, isVisionModel, disposeViTOutput, type HFVisionModel, type ViTForwardOptions, type ViTOutput } from '@raev2/encoders';
import { assertClose, fixtureDir, loadIO, testBackends, useBackend } from '../helpers/fixtures.js';

export const ATOL = 1e-4;

/** Load a fixture family's model (weights from its model.safetensors). */
export async function loadFixtureModel(family: string): Promise<HFVisionModel> {
  const { model } = await loadHFModel(fixtureDir(family));
  assert.ok(isVisionModel(model), `${family} is a vision model`);
  return model;
}

/** The output named like the fixture's tensors (`hidden_states.1`, `last_hidden_state`, …). */
function pick(out: ViTOutput, name: string): Tensor | null | undefined {
  if (name.startsWith('hidden_states.')) return out.hiddenStates[Number(name.slice('hidden_states.'.length))];
  if (name === 'last_hidden_state') return out.lastHiddenState;
  if (name === 'pooler_output') return out.poolerOutput;
  if (name === 'mask') return out.extras.mask;
  if (name === 'ids_restore_int32') return out.extras.ids_restore;
  return undefined;
}

/**
 * On every test backend: the main call (`pixel_values`) and the `interp.` call (`pixel_values_interp`)
 * reproduce every reference output within ATOL; nothing leaks. Returns the max diff per backend.
 */
export async function checkFamilyAgainstFixture(family: string, extraInputs: (io: Map<string, Tensor>, prefix: '' | 'interp.') => ViTForwardOptions = () => ({})): Promise<Record<string, number>> {
  const io = loadIO(family);
  const worst: Record<string, number> = {};
  try {
    for (const backend of testBackends()) {
      await useBackend(backend);
      const model = await loadFixtureModel(family);
      const before = tf.memory().numTensors;
      let checked = 0, max = 0;
      for (const prefix of ['', 'interp.'] as const) {
        const px = io.get(prefix ? 'pixel_values_interp' : 'pixel_values')!;
        const out = model.forward(px, { interpolatePosEncoding: true, ...extraInputs(io, prefix) });
        assert.equal(out.hiddenStates.length, model.numLayers + 1);
        for (const [key, expected] of io) {
          if (prefix === '' ? key.startsWith('interp.') : !key.startsWith(prefix)) continue;
          const name = key.slice(prefix.length);
          const mine = pick(out, name);
          if (mine === undefined) continue;
          assert.ok(mine, `${family} ${backend}: ${key} is missing from the output`);
          assert.deepEqual(mine.shape, expected.shape, `${family} ${backend}: ${key} shape`);
          const d = tf.tidy(() => tf.max(tf.abs(tf.sub(mine.toFloat(), expected.toFloat()))).dataSync()[0]);
          assertClose(mine, expected, ATOL, `${family} ${backend}: ${key}`);
          max = Math.max(max, d);
          checked++;
        }
        disposeViTOutput(out);
      }
      assert.ok(checked >= 5, `${family}: compared only ${checked} tensors`);
      assert.equal(tf.memory().numTensors, before, `${family} ${backend}: forward leaked tensors`);
      model.dispose();
      worst[backend] = max;
    }
  } finally {
    for (const t of io.values()) t.dispose();
  }
  return worst;
}
