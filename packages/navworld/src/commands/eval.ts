/** `raev2 navworld eval`: per-horizon scores of the model and its baselines, counterfactual turns, planning; metrics.json + report.html. */
import * as path from 'node:path';
import { z } from 'zod';
import { GuidanceFlag } from './guidance.js';
import { tf, initRuntime, parseFlags, writeFileAtomic, type Command, type Tensor } from '@raev2/core';
import { loadLatentWorld } from '../data/latents.js';
import { loadNavModel, loadWorldRAE } from '../model/load.js';
import { evaluateNavWorld, TURN_YAW } from '../eval/evaluate.js';
import { PLAN_DEFAULTS, planEpisodes } from '../plan/episodes.js';
import { Simulator } from '../eval/frames.js';
import { renderReport } from '../report/html.js';
import { turnStripDataUri } from '../report/turns.js';
import { sideBySide, writeVideo } from '../video/write.js';
import { FPS } from '../world/motion.js';

const num = (min: number) => z.coerce.number().int().min(min);
const Flags = z.object({
  run: z.string({ error: 'is required (a navworld train run)' }).min(1),
  stage1: z.string({ error: 'is required (the stage-1 decoder run)' }).min(1),
  out: z.string({ error: 'is required (output folder)' }).min(1),
  samples: num(2).default(32),
  steps: num(1).default(8),
  clips: num(2).default(8),
  'rollout-steps': num(1).default(16),
  block: num(1).optional(),
  turns: num(1).default(32),
  'turn-yaw': z.coerce.number().positive().max(Math.PI).default(TURN_YAW),
  'plan-episodes': num(0).default(4),
  'plan-samples': num(2).default(PLAN_DEFAULTS.samples),
  elites: num(1).default(PLAN_DEFAULTS.elites),
  iterations: num(1).default(PLAN_DEFAULTS.iterations),
  'plan-steps': num(1).default(PLAN_DEFAULTS.steps),
  guidance: GuidanceFlag,
  seed: num(0).default(0),
}).strict();

const usage = `usage: raev2 navworld eval --run <train run> --stage1 <decoder run> --out <folder> [flags]

Scores single-step predictions (k = 1, 2, 4, 8) and autoregressive rollouts on held-out maps and
held-out trajectories — latent cosine, PSNR, SSIM, latent FD, clip-level FD proxy (not FVD) — for the
model and, in the same run, copy-last-frame, an untrained model and the model with actions zeroed;
counterfactual turns vs the simulator; CEM planning vs random shooting vs the no-action model
(ATE / RPE). Writes metrics.json, report.html and rollout videos.

  --samples N          single-step examples per split (default 32)
  --steps N            Euler steps per prediction (default 8)
  --clips N --rollout-steps H   rollouts per split and their length (default 8, 16)
  --block N            frames per rollout call (default the trained offset); frame-by-frame
                       rollouts (block 1) are scored beside them
  --turns N            contexts for counterfactual turns (default 32)
  --turn-yaw R         their turn, radians over 0.5 s (default 1)
  --plan-episodes N    planning episodes on held-out maps (default 4; 0 skips)
  --plan-samples N --elites N --iterations N   CEM settings (default 48, 6, 4)
  --plan-steps N       Euler steps per planning prediction (default 1: the expected frame)
  --guidance G         none | free:<w> | cfg:<w> | free+cfg:<w>,<w> (default free:1.78)
  --seed N`;

function toFrames(t: Tensor): Uint8Array[] {
  const b = tf.tidy(() => t.clipByValue(0, 1).mul(255).round().toInt());
  const d = b.dataSync();
  const [n, h, w] = b.shape as number[];
  b.dispose();
  return Array.from({ length: n }, (_, i) => Uint8Array.from(d.subarray(i * h * w * 3, (i + 1) * h * w * 3)));
}

export const evalCommand: Command = {
  name: 'navworld eval',
  summary: 'evaluate a navigation world model (per-horizon metrics, baselines, turns, planning, report)',
  usage,
  async run(argv) {
    const f = parseFlags(argv, Object.fromEntries(Object.keys(Flags.shape).map((k) => [k, { type: 'string' as const }])), Flags, 'navworld eval');
    await initRuntime();
    const m = loadNavModel(f.run);
    const world = loadLatentWorld(path.resolve(f.run, m.info.latents));
    const { rae, source, dispose } = await loadWorldRAE(f.stage1, world, m.info.encoder, m.info.size);
    try {
      const guidance = f.guidance;
      const result = await evaluateNavWorld(m, world, rae, {
        splits: ['heldout-map', 'heldout-traj'], samples: f.samples, horizons: [1, 2, 4, 8], clips: f.clips, rolloutSteps: f['rollout-steps'],
        rolloutHorizons: [1, 2, 4, 8, 16].filter((h) => h <= f['rollout-steps']), turns: f.turns, turnYaw: f['turn-yaw'], seed: f.seed, steps: f.steps, guidance, block: f.block,
        onProgress: (s) => console.error(`navworld eval: ${s}`),
      });
      const plan = f['plan-episodes'] > 0 ? planEpisodes(m, world, 'heldout-map', f['plan-episodes'], { ...PLAN_DEFAULTS, samples: f['plan-samples'], elites: f.elites, iterations: f.iterations, steps: f['plan-steps'], guidance, seed: f.seed }, (d) => console.error(`navworld eval: planning episode ${d}/${f['plan-episodes']}`)) : undefined;
      const videos: { split: string; file: string }[] = [];
      for (const ex of result.examples) {
        const s = m.info.size;
        const pair = sideBySide(toFrames(ex.pred), toFrames(ex.real), s, s);
        const file = await writeVideo(path.join(f.out, `rollout_${ex.split}.mp4`), { width: pair.width, height: s, fps: FPS, frames: pair.frames });
        videos.push({ split: ex.split, file: path.basename(file) });
        tf.dispose([ex.pred, ex.real]);
      }
      const metrics = { run: f.run, checkpoint: m.checkpoint, decoder: source, flags: f, splits: result.splits, inverseDynamics: result.inverseDynamics, turns: result.turns, plan: plan && { mean: plan.mean, options: plan.options, episodes: plan.episodes.map((e) => ({ map: e.map, errors: e.errors })) } };
      writeFileAtomic(path.join(f.out, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
      const sim = new Simulator(m.info.world);
      const turnsImage = await turnStripDataUri(result.turnStrip);
      const html = renderReport({
        title: 'navworld: action-conditioned frame prediction', result, plan, planMaps: (seed) => sim.map(seed), videos, turnsImage,
        notes: [`model ${m.checkpoint}; decoder ${source}; ${f.samples} examples per split, ${f.steps} Euler steps, guidance ${JSON.stringify(f.guidance)}; seed ${f.seed}.`,
          'copy-last shows the true last context frame (no decoder); the models\' predictions go through the stage-1 decoder, so their PSNR/SSIM include its reconstruction error; recon = the decoder on the true target latent (their ceiling).'],
      });
      writeFileAtomic(path.join(f.out, 'report.html'), html);
      console.log(`navworld eval → ${path.join(f.out, 'metrics.json')}, ${path.join(f.out, 'report.html')}`);
    } finally {
      dispose();
      m.dit.dispose();
    }
  },
};
