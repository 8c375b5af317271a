/**
 * Navigation world model through the library API: four context frames from the simulator and an
 * action (the target pose relative to the last context frame) → the predicted frame k steps ahead,
 * beside the simulator's true frame for that action. Writes <out>/navworld_example.png
 * (context | predicted | true) and prints the latent cosine of prediction and truth.
 *
 *   node --conditions=@raev2/source --import tsx examples/navworld.ts --run <navworld train run> --stage1 <decoder run>
 *        [--k 2] [--forward 0.4] [--turn 0.3] [--out outputs/navworld-example]
 */
import * as path from 'node:path';
import { z } from 'zod';
import { tf, initRuntime, parseFlags, writeImageGrid } from '@raev2/core';
import '@raev2/encoders';
import { loadNavModel, loadWorldRAE, loadLatentWorld, Simulator, randomWalk, HELDOUT_MAP_BASE, actionBetween, navCondition, predictLatents, move, cosine } from '@raev2/navworld';

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2), { run: { type: 'string' }, stage1: { type: 'string' }, k: { type: 'string' }, forward: { type: 'string' }, turn: { type: 'string' }, out: { type: 'string' } },
    z.object({ run: z.string().min(1), stage1: z.string().min(1), k: z.coerce.number().int().min(1).max(8).default(2), forward: z.coerce.number().default(0.4), turn: z.coerce.number().default(0.3), out: z.string().default('outputs/navworld-example') }), 'examples/navworld');
  await initRuntime();
  const model = loadNavModel(f.run);
  const world = loadLatentWorld(path.resolve(f.run, model.info.latents));
  const { rae, dispose } = await loadWorldRAE(f.stage1, world, model.info.encoder, model.info.size);
  const sim = new Simulator(model.info.world);
  // a held-out map (never seen in training) and a fresh walk on it: its first 4 frames are the context
  const map = sim.map(HELDOUT_MAP_BASE + model.info.world.seed * 1000);
  const walk = randomWalk(map, 4242, { length: 4 });
  const last = walk.poses[3];
  // the action: move `forward` m and turn `turn` rad (the simulator says where that really ends)
  const target = move(map, last, f.forward, 0, f.turn);
  const action = actionBetween(last, target, model.info.scale);

  const ctxImages = await sim.images(walk.poses.map((pose) => ({ map: map.seed, pose })));
  const ctx = tf.tidy(() => rae.encode(ctxImages, { noise: false })); // [4, N, C] standardised latents
  const d = ctx.dataSync() as Float32Array, fs = d.length / 4;
  const cond = navCondition(model, [[0, 1, 2, 3].map((j) => d.slice(j * fs, (j + 1) * fs))], [action], [f.k]);
  const pred = predictLatents(model, cond, { steps: 12, seed: 0 }); // [1, N, C], free guidance 1.78
  const trueImage = await sim.images([{ map: map.seed, pose: target }]);
  const trueLatent = tf.tidy(() => rae.encode(trueImage, { noise: false }));
  console.log(`action (dx', dy', dyaw) = ${action.map((v) => v.toFixed(3)).join(', ')}, k = ${f.k}`);
  console.log(`latent cosine: prediction vs true ${cosine(pred.dataSync(), trueLatent.dataSync()).toFixed(3)}, last context frame vs true ${cosine(d.subarray(3 * fs), trueLatent.dataSync()).toFixed(3)}`);
  const predImage = tf.tidy(() => rae.decode(pred).clipByValue(0, 1));
  const grid = tf.concat([ctxImages, predImage, trueImage], 0);
  const file = path.join(f.out, 'navworld_example.png');
  await writeImageGrid(file, grid, { cols: 6 });
  console.log(`context ×4 | predicted | true → ${file}`);
  tf.dispose([ctxImages, ctx, pred, trueImage, trueLatent, predImage, grid, ...Object.values(cond) as tf.Tensor[]]);
  dispose();
  model.dit.dispose();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
