/**
 * `npm run demo -- --task navworld`: the navigation world model end to end, offline. By default it
 * loads the shipped model (`pretrained/navworld-demo`: DiT^DH + decoder fp16, statistics, manifest with
 * sha256 and the commands that made it), renders and encodes the held-out maps and trajectories, and
 * writes outputs/navworld-demo/{metrics.json, report.html, rollout_30s.mp4, …}: per-horizon scores
 * against copy-last / untrained / no-action, counterfactual turns, CEM planning vs random shooting,
 * a 30-second rollout. `--train` rebuilds the model here (render → decoder → DiT → export) first;
 * `--quick` is a small end-to-end run for CI.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { initRuntime, parseFlags, parseStage1Config, writeFileAtomic, tf, UsageError, InterruptedError } from '@raev2/core';
import {
  guidanceFlag, WorldSpecSchema, renderWorld, parseNavTrainConfig, trainNavWorld, loadNavModel, loadWorldRAE, loadLatentWorld, exportNavModel, loadExportedNavModel,
  prepareLatentWorld, evaluateNavWorld, planEpisodes, PLAN_DEFAULTS, longRollout, renderReport, sideBySide, writeVideo, Simulator, worldStats, FPS, WORLD_FILES, turnStripDataUri,
} from '@raev2/navworld';
import { runStage1Train } from '../../runs/stage1.js';

/** The shipped model folder. */
export const NAVWORLD_PRETRAINED = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../pretrained/navworld-demo');

const Flags = z.object({
  task: z.literal('navworld'),
  out: z.string().min(1).default('outputs/navworld-demo'),
  train: z.boolean().default(false),
  quick: z.boolean().default(false),
  'decoder-steps': z.coerce.number().int().positive().optional(),
  'dit-steps': z.coerce.number().int().positive().optional(),
  seed: z.coerce.number().int().nonnegative().default(0),
  // CFG 3: on the shipped model it scores above unguided and free-guided sampling (docs/navworld.md)
  guidance: guidanceFlag('cfg:3'),
}).strict();

export const NAVWORLD_DEMO_USAGE = `usage: npm run demo -- --task navworld [--train] [--quick] [--out outputs/navworld-demo]

  (default)   the shipped model: evaluation on held-out maps and trajectories, turns, planning, 30-s rollout
  --train     rebuild the model here first (render the world, train the decoder and the DiT, export)
  --quick     a small world and short training, end to end (CI)
  --decoder-steps N --dit-steps N   training lengths for --train
  --guidance G   none | free:<w> | cfg:<w> | free+cfg:<w>,<w> (default cfg:3)
  --seed N`;

/** Run the navworld demo; returns the output folder. */
export async function runNavworldDemo(argv: string[]): Promise<string> {
  const f = parseFlags(argv, { task: { type: 'string' }, out: { type: 'string' }, train: { type: 'boolean' }, quick: { type: 'boolean' }, 'decoder-steps': { type: 'string' }, 'dit-steps': { type: 'string' }, seed: { type: 'string' }, guidance: { type: 'string' } }, Flags, 'demo --task navworld');
  await initRuntime();
  const out = path.resolve(f.out);
  fs.mkdirSync(out, { recursive: true });
  let modelDir = NAVWORLD_PRETRAINED;
  if (f.train || f.quick) modelDir = await trainHere(out, f);
  else if (!fs.existsSync(path.join(modelDir, 'manifest.json'))) throw new UsageError(`no shipped navworld model in ${modelDir}: run with --train`);
  console.error(`navworld demo: model ${modelDir}`);
  const { model, rae, stats, manifest, dispose } = await loadExportedNavModel(modelDir);
  try {
    const spec = model.info.world;
    // the training split too: the inverse-dynamics probe learns from real training pairs
    const world = await prepareLatentWorld(spec, model.info.encoder, undefined, { only: ['train', 'heldout-map', 'heldout-traj'], stats });
    const guidance = f.guidance;
    const small = f.quick;
    const result = await evaluateNavWorld(model, world, rae, {
      splits: ['heldout-map', 'heldout-traj'], samples: small ? 8 : 32, horizons: [1, 2, 4, 8], clips: small ? 2 : 8, rolloutSteps: small ? 8 : 16,
      rolloutHorizons: small ? [1, 2, 4, 8] : [1, 2, 4, 8, 16], turns: small ? 2 : 32, seed: f.seed, steps: 8, guidance, onProgress: (s) => console.error(`navworld demo: ${s}`),
    });
    const plan = planEpisodes(model, world, 'heldout-map', small ? 1 : 4, { ...PLAN_DEFAULTS, ...(small ? { samples: 8, elites: 2, iterations: 2 } : {}), guidance, seed: f.seed });
    const s = model.info.size;
    const videos: { split: string; file: string }[] = [];
    const toBytes = (t: tf.Tensor) => { const b = tf.tidy(() => t.clipByValue(0, 1).mul(255).round().toInt()); const d = b.dataSync(); b.dispose(); return Array.from({ length: t.shape[0] as number }, (_, i) => Uint8Array.from(d.subarray(i * s * s * 3, (i + 1) * s * s * 3))); };
    for (const ex of result.examples) {
      const pair = sideBySide(toBytes(ex.pred), toBytes(ex.real), s, s);
      const file = await writeVideo(path.join(out, `rollout_${ex.split}.mp4`), { width: pair.width, height: s, fps: FPS, frames: pair.frames });
      videos.push({ split: `${ex.split} (16 steps)`, file: path.basename(file) });
      tf.dispose([ex.pred, ex.real]);
    }
    const seconds = small ? 4 : 30;
    const long = await longRollout(model, rae, { seconds, mapIndex: 0, seed: f.seed, steps: 8, guidance, warn: () => {} });
    const pair = sideBySide(long.pred, long.real, s, s);
    const longFile = await writeVideo(path.join(out, `rollout_${seconds}s.mp4`), { width: pair.width, height: s, fps: FPS, frames: pair.frames });
    videos.push({ split: `held-out map, ${seconds} s autoregressive`, file: path.basename(longFile) });
    const metrics = { model: modelDir, manifest: { commands: manifest.commands, source: manifest.source }, splits: result.splits, inverseDynamics: result.inverseDynamics, turns: result.turns, plan: { mean: plan.mean, options: plan.options, episodes: plan.episodes.map((e) => ({ map: e.map, errors: e.errors })) }, longRollout: { seconds, latentCosine: long.latentCosine } };
    writeFileAtomic(path.join(out, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
    const sim = new Simulator(spec);
    const turnsImage = await turnStripDataUri(result.turnStrip);
    writeFileAtomic(path.join(out, 'report.html'), renderReport({ title: 'navworld demo: action-conditioned frame prediction on held-out maps', result, plan, planMaps: (seed) => sim.map(seed), videos, turnsImage, notes: [`model ${modelDir} (${manifest.commands.join(' ; ')})`, 'copy-last shows the true last context frame (no decoder); the models\' predictions go through the decoder, so their PSNR/SSIM include its reconstruction error; recon = the decoder on the true target latent (their ceiling). The clip FD is a proxy over latent features, not FVD.'] }));
    console.log(`navworld demo → ${path.join(out, 'report.html')}`);
    return out;
  } finally {
    dispose();
  }
}

/** Render → decoder (stage 1) → DiT → export into <out>/model; returns that folder. */
async function trainHere(out: string, f: z.output<typeof Flags>): Promise<string> {
  const world = WorldSpecSchema.parse(f.quick ? { seed: f.seed, trainMaps: 4, heldOutMaps: 2, trajectories: 3, length: 32, size: 64 } : { seed: f.seed });
  const worldDir = path.join(out, 'world');
  if (!fs.existsSync(path.join(worldDir, WORLD_FILES.trainManifest))) await renderWorld(world, worldDir);
  const s1 = parseStage1Config({ data: `manifest:${path.join(worldDir, WORLD_FILES.trainManifest)}`, out: path.join(out, 'stage1'), imageSize: world.size, decoder: { preset: 'tiny' }, batchSize: 16, steps: f['decoder-steps'] ?? (f.quick ? 60 : 2000), lr: 1e-3, finalLr: 1e-4, perceptual: { weight: 0, net: 'none' }, gan: { enabled: false }, seed: f.seed, checkpointEvery: 100, sampleEvery: 0, keep: 2 }, 'navworld demo stage-1 config');
  const dec = await runStage1Train(s1, { resume: true, handleSignals: true });
  if (dec.interrupted) throw new InterruptedError(`decoder training stopped at step ${dec.step}/${dec.totalSteps}, checkpoint saved; run the same command again to continue`);
  const cfg = parseNavTrainConfig({
    out: path.join(out, 'dit'), world, latents: path.join(out, 'latents.safetensors'),
    model: { preset: 'tiny', hiddenSize: [96, 96], depth: f.quick ? [2, 1] : [3, 1], numHeads: [4, 4], baseDepth: f.quick ? 1 : 2, numTimeTokens: 1 },
    // shift 6: more training at high noise, where the prediction must come from the context (docs/navworld.md measures it)
    transport: { shift: 6 }, optimizer: { name: 'adamw', lr: 1e-3 }, schedule: { kind: 'cosine', warmupSteps: 40, finalLr: 1e-4 }, ema: 0.999,
    batchSize: 16, steps: f['dit-steps'] ?? (f.quick ? 60 : 1200), checkpointEvery: 100, logEvery: 10, keep: 2, seed: f.seed,
    contextRope: true, // the shipped model's setting (no measurable difference from RAEv2's default at equal steps)
  });
  const r = await trainNavWorld(cfg, { resume: true, handleSignals: true });
  if (r.interrupted) throw new InterruptedError(`DiT^DH training stopped at step ${r.step}/${r.totalSteps}, checkpoint saved; run the same command again to continue`);
  const m = loadNavModel(cfg.out);
  const lw = loadLatentWorld(cfg.latents!);
  const { rae, source, dispose } = await loadWorldRAE(s1.out, lw, m.info.encoder, m.info.size);
  const to = path.join(out, 'model');
  const st = worldStats(lw);
  try {
    exportNavModel(to, m, rae, st, { commands: [`npm run demo -- --task navworld --train${f.quick ? ' --quick' : ''} --seed ${f.seed}`], source: { dit: m.checkpoint, decoder: source } });
  } finally {
    tf.dispose([st.mean!, st.var]);
    dispose();
    m.dit.dispose();
  }
  return to;
}
