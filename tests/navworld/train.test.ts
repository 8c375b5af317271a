import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf, createDiT, conditionBatch, Rng } from '@raev2/core';
import '@raev2/encoders';
import { parseNavTrainConfig, trainNavWorld, loadNavModel, rollout, navCondition, predictLatents, loadLatentWorld, NavigationSource, navConditionConfig, measureActionScale, actionBetween, NavigationConditionEmbedder, nullNavigationCondition, scorePlans, cosine } from '@raev2/navworld';

test('navigation condition embedder: token count and layout; zero null condition; frame embedding only when asked', () => {
  const cfg = { kind: 'navigation' as const, contextFrames: 2, tokensPerFrame: 3, channels: 5, actionTokens: 2, frameEmbedding: false, contextRope: false };
  const e = new NavigationConditionEmbedder(cfg, 8, new Rng(0));
  const before = tf.memory().numTensors;
  const cond = { frames: tf.randomNormal([4, 6, 5]), action: tf.randomNormal([4, 3]), offset: tf.tensor1d([1, 2, 3, 8].map((k) => k / 128)) };
  const { tokens } = e.embed(cond);
  assert.deepEqual(tokens.shape, [4, 6 + 2 + 1, 8]);
  assert.equal(e.numTokens, 9);
  // frame tokens are Linear(C → D) of each latent token, with no position: permuting tokens permutes outputs
  const w = e.frameProj.weight.arraySync() as number[][], b = e.frameProj.bias!.arraySync() as number[];
  const f = cond.frames.arraySync() as number[][][];
  const t = tokens.arraySync() as number[][][];
  for (let d = 0; d < 8; d++) {
    let want = b[d];
    for (let c = 0; c < 5; c++) want += w[d][c] * f[2][4][c];
    assert.ok(Math.abs(t[2][4][d] - want) < 1e-5, `frame token (2, 4, ${d})`);
  }
  // action tokens: learned token + Linear(3 → D)(action), float64 recomputation
  const aw = e.actionProj.weight.arraySync() as number[][], ab = e.actionProj.bias!.arraySync() as number[], at = e.actionTokens.arraySync() as number[][];
  const a = cond.action.arraySync() as number[][];
  for (let d = 0; d < 8; d++) {
    const want = at[1][d] + ab[d] + aw[d][0] * a[3][0] + aw[d][1] * a[3][1] + aw[d][2] * a[3][2];
    assert.ok(Math.abs(t[3][7][d] - want) < 1e-5, `action token (3, 1, ${d})`);
  }
  const nul = nullNavigationCondition(cfg, 3);
  for (const v of Object.values(nul)) { const s = tf.tidy(() => tf.abs(v!).sum()); assert.equal(s.arraySync(), 0); s.dispose(); }
  assert.equal(conditionBatch(nul), 3);
  tf.dispose([tokens, ...Object.values(cond), ...Object.values(nul) as tf.Tensor[]]);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(e.frameEmbed, null);
  const withFe = new NavigationConditionEmbedder({ ...cfg, frameEmbedding: true }, 8, new Rng(0));
  assert.deepEqual(withFe.frameEmbed?.shape, [2, 8]);
  e.dispose(); withFe.dispose();
});

test('navigation condition with contextRope: each context token takes its grid cell\'s RoPE angles in the DiT, action and offset tokens angle 0', () => {
  const condition = { kind: 'navigation', contextFrames: 2, tokensPerFrame: 4, channels: 8, actionTokens: 2, frameEmbedding: false, contextRope: true };
  const model = { arch: 'raev2' as const, inputSize: [2, 2] as [number, number], inChannels: 8, hiddenSize: [32, 32] as [number, number], depth: [1, 1] as [number, number], numHeads: [2, 2] as [number, number], numTimeTokens: 1, numCondTokens: 1, baseDepth: 1, condition };
  const dit = createDiT(model, 0);
  const sd = new Map(dit.namedBuffers());
  const cos = sd.get('enc_rope.freqs_cos')!.arraySync() as number[][], sin = sd.get('enc_rope.freqs_sin')!.arraySync() as number[][];
  // rows: 4 image cells, 1 time token, 2 frames × 4 context tokens, 2 action tokens, 1 offset token
  assert.equal(cos.length, 4 + 1 + 8 + 3);
  const dh = 16;
  for (let r = 0; r < cos.length; r++) {
    for (let k = 0; k < dh; k++) {
      // float64 recomputation of the EVA 2-D table: ω_j = θ^(−2j/(dh/2)); first half rows, second half columns
      const cell = r < 4 ? r : r >= 5 && r < 13 ? (r - 5) % 4 : -1;
      const half = k < dh / 2 ? 0 : 1, j = Math.floor((k % (dh / 2)) / 2);
      const pos = cell < 0 ? 0 : half === 0 ? Math.floor(cell / 2) : cell % 2;
      const angle = pos / Math.pow(10000, (2 * j) / (dh / 2));
      assert.ok(Math.abs(cos[r][k] - Math.cos(angle)) < 1e-6 && Math.abs(sin[r][k] - Math.sin(angle)) < 1e-6, `row ${r} channel ${k}`);
    }
  }
  const plain = createDiT({ ...model, condition: { ...condition, contextRope: false } }, 0);
  const plainCos = new Map(plain.namedBuffers()).get('enc_rope.freqs_cos')!;
  assert.deepEqual(plainCos.shape, [4 + 1 + 1, dh], 'without the option the table is the RAEv2 one (image rows + time and n_c condition rows)');
  dit.dispose(); plain.dispose();
});

test('navworld train: the navigation kind builds inside core\'s DiT^DH, trains a few steps on a tiny world, loads and rolls out', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'navtrain-'));
  const cfg = parseNavTrainConfig({
    out,
    world: { trainMaps: 2, heldOutMaps: 1, trajectories: 2, length: 12, size: 32 },
    model: { preset: 'tiny', hiddenSize: [96, 96], depth: [2, 1], numHeads: [4, 4], baseDepth: 1, numTimeTokens: 1 },
    batchSize: 4, steps: 3, checkpointEvery: 3, logEvery: 1, seed: 0,
  });
  const r = await trainNavWorld(cfg, { resume: false });
  assert.equal(r.step, 3);
  assert.equal(r.plan.dit.arch, 'raev2');
  const world = loadLatentWorld(path.join(out, 'latents.safetensors'));
  assert.deepEqual(world.grid, [2, 2]);
  // the source's examples: every (traj, i) of the training split with i ≥ n − 1 and a frame after it
  const cond = navConditionConfig(world, cfg);
  const scale = measureActionScale(world.trajectories.filter((t) => t.split === 'train').map((t) => t.poses), cfg.metricStep);
  const src = new NavigationSource(world, { splits: ['train'], condition: cond, scale });
  assert.equal(src.size, 2 * 1 * (12 - 4)); // 2 maps × 1 training trajectory × (T − n) examples
  const ex = src.examples[5];
  const { x, cond: c } = src.stack([{ traj: ex.traj, i: ex.i, k: 2 }]);
  const fs1 = 4 * world.channels;
  assert.deepEqual(Array.from(x.dataSync()), Array.from(ex.traj.latents.subarray((ex.i + 2) * fs1, (ex.i + 3) * fs1)));
  assert.deepEqual(Array.from(c.frames.dataSync()), Array.from(ex.traj.latents.subarray((ex.i - 3) * fs1, (ex.i + 1) * fs1)));
  const want = actionBetween(ex.traj.poses[ex.i], ex.traj.poses[ex.i + 2], scale);
  (c.action.dataSync() as Float32Array).forEach((v, j) => assert.ok(Math.abs(v - want[j]) < 1e-6));
  assert.equal(c.offset.dataSync()[0], 2 / 128);
  tf.dispose([x, ...Object.values(c) as tf.Tensor[]]);

  const m = loadNavModel(out);
  const before = tf.memory().numTensors;
  const traj = world.trajectories[0];
  const fsz = 4 * world.channels;
  const ctx = [0, 1, 2, 3].map((i) => traj.latents.slice(i * fsz, (i + 1) * fsz));
  const warnings: string[] = [];
  const pred = rollout(m, [ctx, ctx], [traj.poses.slice(3, 6), traj.poses.slice(3, 6)], { steps: 2, warn: (s) => warnings.push(s) });
  assert.equal(pred.length, 2);
  assert.equal(pred[0].length, 2);
  assert.equal(pred[0][0].length, fsz);
  assert.ok(pred[0][0].every(Number.isFinite));
  assert.equal(warnings.length, 0);
  rollout(m, [ctx], [traj.poses.slice(2, 12)], { steps: 1, warn: (s) => warnings.push(s) });
  assert.match(warnings[0] ?? '', /9 steps is longer than the 8 frames/);
  // block rollouts against calls built by hand: each call predicts offsets 1…b from the window, actions from
  // the window's newest pose, then the window slides by b (block 1: frame by frame; block 5: all from the context)
  const wp = traj.poses.slice(3, 9); // last context pose + 5 waypoints
  const byHand = (blocks: number[]) => {
    const rng = new Rng(0);
    const win = [...ctx];
    const got: Float32Array[] = [];
    let h = 0;
    for (const b of blocks) {
      const ks = Array.from({ length: b }, (_, j) => j + 1);
      const c = navCondition(m, ks.map(() => [...win]), ks.map((k) => actionBetween(wp[h], wp[h + k], m.info.scale)), ks);
      const z = predictLatents(m, c, { steps: 2, seed: rng });
      const d = z.dataSync() as Float32Array;
      tf.dispose([z, ...Object.values(c) as tf.Tensor[]]);
      for (let j = 0; j < b; j++) { const f = d.slice(j * fsz, (j + 1) * fsz); got.push(f); win.shift(); win.push(f); }
      h += b;
    }
    return got;
  };
  for (const [block, blocks] of [[1, [1, 1, 1, 1, 1]], [2, [2, 2, 1]], [5, [5]]] as const) {
    const [r] = rollout(m, [ctx], [wp], { steps: 2, block, seed: 0 });
    const want = byHand([...blocks]);
    assert.equal(r.length, 5);
    r.forEach((f, i) => assert.deepEqual(Array.from(f), Array.from(want[i]), `block ${block}, frame ${i + 1}`));
  }
  assert.throws(() => rollout(m, [ctx], [wp], { steps: 2, block: 9 }), /rollout block 9: must be an integer in \[1, 8\]/);
  // planning scores against calls built by hand: as many actions per call as fit in the trained offset (8
  // frames), the action from the window's pose to that chunk's last waypoint, every candidate from the same
  // noise; the window slides by each chunk's predicted frame
  const goal = traj.latents.slice(9 * fsz, 10 * fsz);
  const plans = [wp.slice(1, 4), [wp[2], wp[4], wp[5]]];
  const scoreByHand = (stride: number, chunks: number[][]) => plans.map((w) => {
    const win = [...ctx];
    let from = wp[0], last = new Float32Array();
    for (const chunk of chunks) {
      const end = w[chunk[chunk.length - 1]];
      const c = navCondition(m, [[...win]], [actionBetween(from, end, m.info.scale)], [chunk.length * stride]);
      const z = predictLatents(m, c, { steps: 2, seed: 0 });
      last = Float32Array.from(z.dataSync());
      tf.dispose([z, ...Object.values(c) as tf.Tensor[]]);
      win.shift(); win.push(last);
      from = end;
    }
    return 1 - cosine(last, goal);
  });
  for (const [stride, chunks] of [[2, [[0, 1, 2]]], [3, [[0, 1], [2]]], [8, [[0], [1], [2]]]] as const) {
    const got = scorePlans(m, ctx, goal, wp[0], plans, stride, { steps: 2, seed: 0 });
    const want = scoreByHand(stride, chunks.map((c) => [...c]));
    got.forEach((v, r) => assert.ok(Math.abs(v - want[r]) < 1e-6, `stride ${stride}, plan ${r}: ${v} vs ${want[r]}`));
  }
  assert.equal(tf.memory().numTensors, before, 'rollouts leak no tensors');
  // an untrained DiT of the same config is a different function (the checkpoint's weights were loaded)
  const fresh = createDiT(m.dit.config, 12345);
  assert.notDeepEqual(Array.from(fresh.stateDict().get('final_layer.linear.weight')!.dataSync().slice(0, 4)), Array.from(m.dit.stateDict().get('final_layer.linear.weight')!.dataSync().slice(0, 4)));
  fresh.dispose();
  m.dit.dispose();
});
