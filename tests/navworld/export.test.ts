import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf, createRAE, Rng } from '@raev2/core';
import { loadEncoder } from '@raev2/encoders';
import { parseNavTrainConfig, trainNavWorld, loadNavModel, loadLatentWorld, worldStats, exportNavModel, loadExportedNavModel, navCondition, predictLatents, tokensPerFrame } from '@raev2/navworld';

test('export: fp16 model folder with sha256 manifest loads back to the same predictions (within fp16), and a corrupted file is refused', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'navexport-'));
  const cfg = parseNavTrainConfig({
    out: path.join(out, 'run'), world: { trainMaps: 2, heldOutMaps: 1, trajectories: 2, length: 10, size: 32 },
    model: { preset: 'tiny', hiddenSize: [96, 96], depth: [1, 1], numHeads: [4, 4], baseDepth: 1, numTimeTokens: 1 }, batchSize: 4, steps: 2, checkpointEvery: 2,
  });
  await trainNavWorld(cfg, { resume: false });
  const m = loadNavModel(cfg.out);
  const world = loadLatentWorld(path.join(cfg.out, 'latents.safetensors'));
  const { encoder, selection } = await loadEncoder('mobilenetv2-nsfwjs[layers=last3,res=32]');
  const st = worldStats(world);
  const rae = createRAE({ encoder, selection, decoder: { preset: 'tiny', rng: new Rng(0) }, stats: worldStats(world) });
  const dir = path.join(out, 'model');
  const manifest = exportNavModel(dir, m, rae, st, { commands: ['test'], source: { dit: m.checkpoint } });
  assert.deepEqual(Object.keys(manifest.files).sort(), ['decoder.config.json', 'decoder.safetensors', 'dit.config.json', 'dit.safetensors', 'navworld.json', 'stats.safetensors']);
  const loaded = await loadExportedNavModel(dir);
  const fs1 = tokensPerFrame(world) * world.channels;
  const t = world.trajectories[0];
  const ctx = [[0, 1, 2, 3].map((i) => t.latents.slice(i * fs1, (i + 1) * fs1))];
  const c1 = navCondition(m, ctx, [[0.5, 0, 0.1]], [2]), c2 = navCondition(loaded.model, ctx, [[0.5, 0, 0.1]], [2]);
  const a = predictLatents(m, c1, { steps: 2, seed: 3 }), b = predictLatents(loaded.model, c2, { steps: 2, seed: 3 });
  const diff = tf.tidy(() => a.sub(b).abs().max().arraySync() as number), scale = tf.tidy(() => a.abs().max().arraySync() as number);
  assert.ok(diff <= 2e-2 * Math.max(1, scale), `fp16 export changed predictions by ${diff} (scale ${scale})`);
  assert.deepEqual(Array.from(loaded.stats.mean.slice(0, 5)), Array.from(world.mean.slice(0, 5)));
  tf.dispose([a, b, ...Object.values(c1) as tf.Tensor[], ...Object.values(c2) as tf.Tensor[], st.mean!, st.var]);
  loaded.dispose();
  const f = path.join(dir, 'dit.safetensors');
  const bytes = fs.readFileSync(f);
  bytes[bytes.length - 3] ^= 0xff;
  fs.writeFileSync(f, bytes);
  await assert.rejects(loadExportedNavModel(dir), /dit\.safetensors fails its checksum/);
  rae.dispose(); encoder.dispose(); m.dit.dispose();
});
