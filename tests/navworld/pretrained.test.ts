import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '@raev2/core';
import '@raev2/encoders';
import { loadExportedNavModel, navCondition, predictLatents, Simulator, HELDOUT_MAP_BASE, randomWalk, cosine } from '@raev2/navworld';

const DIR = path.join(import.meta.dirname, '../../packages/cli/pretrained/navworld-demo');

test('shipped navworld model: ≤ 30 MB, checksums hold, the manifest carries the commands that made it, and it predicts from a held-out context', async () => {
  const bytes = fs.readdirSync(DIR).reduce((s, f) => s + fs.statSync(path.join(DIR, f)).size, 0);
  assert.ok(bytes <= 30e6, `${bytes} bytes`);
  const { model, rae, manifest, dispose } = await loadExportedNavModel(DIR);
  try {
    assert.ok(manifest.commands.some((c) => c.includes('navworld train')) && manifest.commands.some((c) => c.includes('stage1 train')));
    assert.equal(model.info.condition.kind, 'navigation');
    const sim = new Simulator(model.info.world);
    const map = sim.map(HELDOUT_MAP_BASE + model.info.world.seed * 1000);
    const walk = randomWalk(map, 7, { length: 5 });
    const img = await sim.images(walk.poses.map((pose) => ({ map: map.seed, pose })));
    const z = tf.tidy(() => rae.encode(img, { noise: false }));
    const d = z.dataSync() as Float32Array, fs1 = d.length / 5;
    // the encoder + shipped statistics standardise world frames to roughly unit scale
    const rms = Math.sqrt(d.reduce((s, v) => s + v * v, 0) / d.length);
    assert.ok(rms > 0.5 && rms < 2, `standardised latent rms ${rms}`);
    const cond = navCondition(model, [[0, 1, 2, 3].map((j) => d.slice(j * fs1, (j + 1) * fs1))], [[0.2, 0, 0]], [1]);
    const p = predictLatents(model, cond, { steps: 4, seed: 0 });
    const pd = p.dataSync();
    assert.ok(pd.every(Number.isFinite));
    assert.ok(Number.isFinite(cosine(pd, d.subarray(4 * fs1))));
    tf.dispose([img, z, p, ...Object.values(cond) as tf.Tensor[]]);
  } finally {
    dispose();
  }
});
