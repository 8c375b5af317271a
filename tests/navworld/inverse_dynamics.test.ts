import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '@raev2/core';
import { fitInverseDynamics, actionAccuracy, actionBetween, measureActionScale, pairFeatures, type LatentWorld, type Pose } from '@raev2/navworld';

/**
 * A synthetic latent world whose frames show the pose through a fixed random linear map of
 * (x, y, cos yaw, sin yaw) on every token, with the heading kept near 0 so the action between two
 * frames is close to linear in the pair; the probe must find it on real pairs and fall to chance when the second frame is not the
 * frame the action led to.
 */
function syntheticWorld(): LatentWorld {
  const rng = new Rng(3);
  const grid: [number, number] = [2, 3], C = 8, N = 6;
  const A = rng.normalArray(N * C * 4);
  const trajectories = Array.from({ length: 12 }, (_, t) => {
    let pose: Pose = { x: rng.random() * 4, y: rng.random() * 4, yaw: (rng.random() - 0.5) * 0.4 };
    let turn = 0;
    const poses: Pose[] = [];
    for (let i = 0; i < 40; i++) {
      poses.push(pose);
      turn = 0.5 * turn + 0.2 * (rng.random() - 0.5) - 0.2 * pose.yaw; // heading stays near 0: actions ≈ linear in the pose change
      const v = 0.1 + 0.2 * rng.random();
      pose = { x: pose.x + v * Math.cos(pose.yaw), y: pose.y + v * Math.sin(pose.yaw), yaw: pose.yaw + turn };
    }
    const latents = new Float32Array(poses.length * N * C);
    poses.forEach((p, i) => {
      const f = [p.x, p.y, Math.cos(p.yaw), Math.sin(p.yaw)];
      for (let j = 0; j < N * C; j++) latents[i * N * C + j] = f.reduce((s, v, q) => s + v * A[j * 4 + q], 0);
    });
    return { name: `t${t}`, split: (t < 9 ? 'train' : 'heldout-traj') as LatentWorld['trajectories'][number]['split'], map: t, poses, latents };
  });
  return { grid, channels: C, trajectories, mean: new Float32Array(N * C), var: new Float32Array(N * C).fill(1) };
}

test('pairFeatures: row means of both frames side by side', () => {
  const a = Float32Array.from({ length: 2 * 2 * 1 }, (_, i) => i + 1); // grid 2×2, C = 1: rows [1, 2], [3, 4]
  const b = Float32Array.from([10, 20, 30, 40]);
  assert.deepEqual(Array.from(pairFeatures(a, b, [2, 2], 1)), [2, 3, 20, 30]);
});

test('inverse-dynamics probe: recovers the action from real latent pairs; at chance when the second frame is wrong, well below real pairs for a copy', () => {
  const world = syntheticWorld();
  const scale = measureActionScale(world.trajectories.filter((t) => t.split === 'train').map((t) => t.poses), 0.2, 4);
  const probe = fitInverseDynamics(world, scale, { maxOffset: 4, pairs: 1500, seed: 0, steps: 400 });
  try {
    const fs = 6 * 8;
    const held = world.trajectories.filter((t) => t.split !== 'train');
    const from: Float32Array[] = [], to: Float32Array[] = [], ks: number[] = [], actions: number[][] = [];
    for (const t of held) for (let i = 0; i + 4 < t.poses.length; i += 2) {
      const k = 1 + (i % 4);
      from.push(t.latents.slice(i * fs, (i + 1) * fs));
      to.push(t.latents.slice((i + k) * fs, (i + k + 1) * fs));
      ks.push(k);
      actions.push(actionBetween(t.poses[i], t.poses[i + k], scale));
    }
    const real = actionAccuracy(probe, from, to, actions);
    const copy = actionAccuracy(probe, from, from, actions);
    const rot = (xs: Float32Array[]) => xs.map((_, r) => xs[(r + 7) % xs.length]);
    const wrong = actionAccuracy(probe, from, rot(to), actions);
    assert.ok(real.mean > 0.85, `real pairs: ${real.byComponent.map((v) => v.toFixed(2))}`);
    assert.ok(probe.trainAccuracy.every((a) => a > 0.6), `training accuracy ${probe.trainAccuracy}`);
    assert.ok(wrong.mean < 0.45, `wrong second frame ${wrong.mean.toFixed(2)}: about chance (1/3)`);
    // a copy of the first frame keeps only what the start pose predicts (here the heading pulls the turn back to 0)
    assert.ok(copy.mean < real.mean - 0.15, `copy ${copy.mean.toFixed(2)} vs real ${real.mean.toFixed(2)}`);
  } finally {
    probe.dispose();
  }
});
