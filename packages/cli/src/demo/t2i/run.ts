/**
 * `npm run demo -- --task t2i`: text-to-image on the emoji caption set, offline. By default it
 * samples the shipped checkpoint (offline text tower + decoder + DiT^DH); `--train` rebuilds all
 * three (tower: `t2i text-tower train`; decoder: `stage1 train` on the training images only, so no
 * held-out combination reaches it; DiT: `t2i train`), `--quick` shrinks every step for CI. Writes
 * a prompt → image grid (seen and held-out prompts labelled, each row ending in the real emoji and
 * the decoder on its latent), metrics.json (attribute accuracy of
 * the text model vs an untrained DiT of its shape on seen / held-out / paraphrased prompts) and
 * report.html.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { tf, initRuntime, parseFlags, parseWith, readJsonFile, readImages, writeFileAtomic, writeLabelledGrid, InterruptedError, parseStage1Config, loadStats, disposeStats, latestCheckpoint, readCheckpointState, type Command } from '@raev2/core';
import { loadEncoder, withResolution } from '@raev2/encoders';
import {
  emojiCaptionSet, splitHeldOut, runTowerTrain, trainT2I, parseT2ITrainConfig, loadT2IModel, writeGenerations, evaluateT2I, untrainedLike,
  rawLatentsCached, standardizeHost, formatReport, decodeLatents, openPixelInputs, type T2IModel, type EvalResult, type EmojiCaptionItem, type HostLatents,
} from '@raev2/t2i';
import { runStage1Train } from '../../runs/stage1.js';
import { pngDataUri } from '../report.js';
import { T2I_PRETRAINED_DIR, readT2IPretrained, loadT2IPretrained } from './pretrained.js';

export const T2I_DEMO_USAGE = `usage: npm run demo -- --task t2i [--train] [--quick] [--out outputs/demo-t2i] [flags]

  --train            rebuild the text tower, the decoder and the DiT^DH here (else: the shipped checkpoint)
  --quick            train tiny versions of all three here and run end to end (CI; < 5 minutes)
  --tower-steps 800  --decoder-steps 1350  --dit-steps 3000  --seed 0  --scale 3 (CFG)  --per-prompt 4`;

const Flags = z
  .object({
    task: z.literal('t2i'), train: z.boolean().default(false), quick: z.boolean().default(false), out: z.string().default('outputs/demo-t2i'),
    'tower-steps': z.coerce.number().int().positive().optional(), 'decoder-steps': z.coerce.number().int().positive().optional(), 'dit-steps': z.coerce.number().int().positive().optional(),
    seed: z.coerce.number().int().nonnegative().default(0), scale: z.coerce.number().positive().default(3), 'per-prompt': z.coerce.number().int().positive().default(4),
  })
  .strict();
export type T2IDemoFlags = z.infer<typeof Flags>;

export function parseT2IDemoArgs(argv: string[]): T2IDemoFlags {
  const s = { type: 'string' } as const, b = { type: 'boolean' } as const;
  return parseFlags(argv, { task: s, train: b, quick: b, out: s, 'tower-steps': s, 'decoder-steps': s, 'dit-steps': s, seed: s, scale: s, 'per-prompt': s }, Flags, 'demo --task t2i');
}

/** Step counts of `--train` without flags (the shipped checkpoint's). */
export const T2I_DEMO_STEPS = { tower: 800, decoder: 1350, dit: 3000 } as const;

/** The DiT^DH and text-condition settings of the demo (the shipped checkpoint's). */
export const T2I_DEMO_MODEL = { hiddenSize: [96, 96], depth: [3, 1], numHeads: [4, 4], baseDepth: 2, numTimeTokens: 2, numCondTokens: 2 } as const;

/**
 * Time shift of the demo's DiT^DH. The dimension rule (docs/method.md) gives sqrt(36·96/4096) = 0.92
 * for this 6×6×96 latent, which leaves few training draws at high noise, where a prompt's role,
 * gender and shape are decided; at 3000 steps shift 6 took held-out role accuracy from 15 % to 100 %
 * and gender from 57 % to 79 % (docs/t2i.md).
 */
export const T2I_DEMO_SHIFT = 6;

/**
 * Group-balanced sampling of the demo's DiT^DH (train/balance.ts): α = 0.5 repeats each of the 24
 * colour × shape training images 5 times beside 540 people and 260 pairs, so their colours are
 * learned in 3000 steps (docs/t2i.md).
 */
export const T2I_DEMO_GROUP_SAMPLING = 0.5;

/** Prompts of the grid: seen and held-out, labelled. */
export function demoPrompts(quick: boolean): { prompt: string; heldOut: boolean }[] {
  const seen = ['woman firefighter, light skin tone', 'man cook, dark skin tone', 'red heart', 'green circle', 'kiss, woman and man, light and dark skin tones', 'woman astronaut, medium skin tone'];
  const held = ['orange heart', 'blue circle', 'black square', 'man artist, light skin tone', 'woman astronaut, medium-light skin tone', 'couple with heart, light and medium skin tones'];
  const all = [...seen.map((p) => ({ prompt: p, heldOut: false })), ...held.map((p) => ({ prompt: p, heldOut: true }))];
  return quick ? [all[2], all[6], all[0], all[9]] : all;
}

async function trainAll(f: T2IDemoFlags, work: string, log: (s: string) => void): Promise<{ run: string; tower: string; decoder: string }> {
  const q = f.quick;
  const tower = path.join(work, 'tower');
  if (!fs.existsSync(path.join(tower, 'image_head.safetensors'))) {
    log('text tower …');
    await runTowerTrain({ out: tower, steps: f['tower-steps'] ?? (q ? 20 : T2I_DEMO_STEPS.tower), seed: f.seed });
  }
  const { train } = splitHeldOut(emojiCaptionSet().items);
  const manifest = path.join(work, 'decoder-train.jsonl');
  writeFileAtomic(manifest, train.map((i) => JSON.stringify({ image: i.path })).join('\n') + '\n');
  const s1 = path.join(work, 'stage1');
  log('decoder (training images only) …');
  const decSteps = f['decoder-steps'] ?? (q ? 30 : T2I_DEMO_STEPS.decoder);
  const dec = await runStage1Train(parseStage1Config({
    encoder: 'mobilenetv2-nsfwjs[layers=last3]', imageSize: 96, data: `manifest:${manifest}`, decoder: { preset: 'tiny', overrides: { patch_size: 8 } },
    batchSize: 16, steps: decSteps, lr: 1e-3, finalLr: 1e-4, warmupEpochs: 0.5, ema: 0.999, perceptual: { net: 'none' }, gan: { enabled: false }, seed: f.seed,
    out: s1, checkpointEvery: Math.max(10, Math.ceil(decSteps / 4)), logEvery: Math.max(1, Math.floor(decSteps / 50)), sampleEvery: 0,
  }, 't2i demo decoder config'), { handleSignals: true });
  if (dec.interrupted) throw new InterruptedError(`decoder training stopped at step ${dec.step}/${dec.totalSteps}, checkpoint saved; run the same command again to continue`);
  const run = path.join(work, 'dit');
  // the tower's latent cache has the same key (encoder, size, items): the DiT run reuses it
  fs.mkdirSync(run, { recursive: true });
  if (!fs.existsSync(path.join(run, 'latents.safetensors'))) fs.copyFileSync(path.join(tower, 'train.latents.safetensors'), path.join(run, 'latents.safetensors'));
  log('DiT^DH …');
  const ditSteps = f['dit-steps'] ?? (q ? 20 : T2I_DEMO_STEPS.dit);
  const dit = await trainT2I(parseT2ITrainConfig({
    data: 'emoji', textEncoder: `hf:${tower}`, imageSize: 96, variant: 'text', groupSampling: T2I_DEMO_GROUP_SAMPLING, out: run, text: { maskPads: true, keepPooled: false, maxTokens: 24 },
    model: T2I_DEMO_MODEL, transport: { shift: T2I_DEMO_SHIFT }, optimizer: { lr: 1e-3 }, schedule: { kind: 'cosine', warmupSteps: Math.min(30, ditSteps), finalLr: 1e-4 },
    batchSize: 32, steps: ditSteps, ema: 0.999, checkpointEvery: Math.max(10, Math.ceil(ditSteps / 4)), logEvery: 25, seed: f.seed,
  }), { handleSignals: true });
  if (dit.interrupted) throw new InterruptedError(`DiT^DH training stopped at step ${dit.step}/${dit.totalSteps}, checkpoint saved; run the same command again to continue`);
  return { run, tower, decoder: path.join(s1, 'decoder') };
}

/**
 * The `npm run demo -- --task t2i --train …` line that rebuilds a demo run's work folder (tower,
 * stage1, dit), read back from the configs its three trainings saved (non-default values only).
 */
export function t2iDemoTrainingCommand(work: string, out: string): string {
  const Run = z.object({ steps: z.number(), seed: z.number() }).loose();
  const tower = readJsonFile(z.object({ config: Run }).loose(), path.join(work, 'tower', 'retrieval.json')).config;
  const config = <S extends z.ZodType>(dir: string, schema: S): z.infer<S> => {
    const c = latestCheckpoint(dir);
    if (c == null) throw new Error(`${dir}: no checkpoint (the demo run did not finish training)`);
    return parseWith(schema, readCheckpointState(c).config, `${c}/state.json config`);
  };
  const dec = config(path.join(work, 'stage1'), Run);
  const dit = config(path.join(work, 'dit'), z.object({ t2i: Run }).loose()).t2i;
  if (tower.seed !== dit.seed || dec.seed !== dit.seed) throw new Error(`${work}: the tower, decoder and DiT were trained with different seeds (${tower.seed}, ${dec.seed}, ${dit.seed}); the demo uses one --seed`);
  const flags = ['--task t2i', '--train'];
  if (tower.steps !== T2I_DEMO_STEPS.tower) flags.push(`--tower-steps ${tower.steps}`);
  if (dec.steps !== T2I_DEMO_STEPS.decoder) flags.push(`--decoder-steps ${dec.steps}`);
  if (dit.steps !== T2I_DEMO_STEPS.dit) flags.push(`--dit-steps ${dit.steps}`);
  if (dit.seed !== 0) flags.push(`--seed ${dit.seed}`);
  return `npm run demo -- ${flags.join(' ')} --out ${out}`;
}

/** Run the demo; see the file comment. */
export async function runT2IDemo(f: T2IDemoFlags): Promise<{ grid: string; metrics: string; report: string }> {
  await initRuntime();
  const log = (s: string) => process.stderr.write(`[t2i demo] ${s}\n`);
  const work = path.join(f.out, 'work');
  fs.mkdirSync(work, { recursive: true });
  let model: T2IModel, decoder: string;
  const shipped = f.train || f.quick ? null : readT2IPretrained(); // --quick trains small here (CI)
  if (shipped) {
    log(`shipped checkpoint ${T2I_PRETRAINED_DIR} (DiT^DH step ${shipped.step})`);
    ({ model, decoder } = await loadT2IPretrained(shipped));
  } else {
    if (!f.train && !f.quick) log('no shipped checkpoint: training here');
    const t = await trainAll(f, work, log);
    model = await loadT2IModel(t.run);
    decoder = t.decoder;
  }
  try {
    const prompts = demoPrompts(f.quick);
    log('grid …');
    const labels = prompts.flatMap((p) => [`${p.heldOut ? '[held-out] ' : '[seen] '}${p.prompt}`, ...new Array<string>(f['per-prompt'] - 1).fill('')]);
    const g = await writeGenerations(model, decoder, { prompts: prompts.map((p) => p.prompt), perPrompt: f['per-prompt'], steps: 20, seed: f.seed, guidance: { method: 'cfg', cfgScale: f.scale } }, path.join(f.out, 'samples'), labels);
    const latents = await demoLatents(model, f);
    const grid = path.join(f.out, 'grid.png');
    await writeGridWithReferences(grid, model, decoder, prompts, g.files, latents);
    log('metrics …');
    const result = await demoMetrics(model, decoder, f, latents);
    const metricsFile = path.join(f.out, 'metrics.json');
    const full = { config: { perPrompt: f.quick ? 1 : 2, seed: f.seed }, steps: { text: model.step, untrained: 0 }, checkpoint: shipped ? 'shipped' : 'trained here', prompts, ...result };
    writeFileAtomic(metricsFile, JSON.stringify(full, null, 2) + '\n');
    const md = formatReport(full);
    const report = path.join(f.out, 'report.html');
    writeFileAtomic(report, renderT2IReport(md, grid, prompts));
    log(`wrote ${grid}, ${metricsFile}, ${report}`);
    return { grid, metrics: metricsFile, report };
  } finally {
    model.dispose();
  }
}

/** The emoji caption set split into training and held-out items, with their standardised latents. */
interface DemoLatents {
  train: EmojiCaptionItem[];
  heldOut: EmojiCaptionItem[];
  tl: HostLatents;
  hl: HostLatents;
}

async function demoLatents(model: T2IModel, f: T2IDemoFlags): Promise<DemoLatents> {
  const { train, heldOut } = splitHeldOut(emojiCaptionSet().items);
  const { encoder, selection } = await loadEncoder(withResolution(model.run.encoder, model.run.imageSize));
  let rt, rh;
  try {
    // the tower's caches when this run trained one (same key), else encoded once here
    const cache = path.join(f.out, 'work', 'tower');
    fs.mkdirSync(cache, { recursive: true });
    rt = await rawLatentsCached(encoder, selection, model.run.encoder, model.run.imageSize, train, path.join(cache, 'train.latents.safetensors'));
    rh = await rawLatentsCached(encoder, selection, model.run.encoder, model.run.imageSize, heldOut, path.join(cache, 'heldout.latents.safetensors'));
  } finally {
    encoder.dispose();
  }
  const stats = loadStats(model.run.stats);
  try {
    return { train, heldOut, tl: standardizeHost(rt, stats), hl: standardizeHost(rh, stats) };
  } finally {
    disposeStats(stats);
  }
}

/**
 * grid.png: each prompt's samples, then the real emoji its caption describes and the decoder on that
 * emoji's true latent (the most the latent can show), so a row can be checked by eye against both.
 */
async function writeGridWithReferences(file: string, model: T2IModel, decoder: string, prompts: { prompt: string; heldOut: boolean }[], sampleFiles: string[], lat: DemoLatents): Promise<void> {
  const per = sampleFiles.length / prompts.length;
  const refs = prompts.map(({ prompt }) => {
    for (const [items, l] of [[lat.train, lat.tl], [lat.heldOut, lat.hl]] as const) {
      const j = items.findIndex((it) => it.captions[0] === prompt);
      if (j >= 0) return { item: items[j], latent: l.data.subarray(j * l.grid[0] * l.grid[1] * l.channels, (j + 1) * l.grid[0] * l.grid[1] * l.channels) };
    }
    throw new Error(`demo prompt '${prompt}' is not the first caption of any emoji`);
  });
  const { grid: [gh, gw], channels } = lat.tl;
  const samples = await readImages(sampleFiles);
  const [, h, w] = samples.shape;
  const real = await readImages(refs.map((r) => r.item.path), [h, w]);
  const z = tf.tensor3d(Float32Array.from(refs.flatMap((r) => Array.from(r.latent))), [refs.length, gh * gw, channels]);
  const recon = await decodeLatents(model, decoder, z);
  z.dispose();
  const rows = prompts.map((p, i) => ({
    label: `${p.heldOut ? '[held-out] ' : '[seen] '}${p.prompt}`,
    images: tf.concat([samples.slice([i * per, 0, 0, 0], [per, -1, -1, -1]), real.slice([i, 0, 0, 0], [1, -1, -1, -1]), recon.slice([i, 0, 0, 0], [1, -1, -1, -1])]),
  }));
  try {
    await writeLabelledGrid(file, rows, { labelWidth: 'fit' });
  } finally {
    rows.forEach((r) => r.images.dispose());
    tf.dispose([samples, real, recon]);
  }
}

/** Attribute accuracy etc. of the model and an untrained DiT of its shape (CFG only; few samples). */
async function demoMetrics(model: T2IModel, decoder: string, f: T2IDemoFlags, { train, heldOut, tl, hl }: DemoLatents): Promise<EvalResult> {
  const untrained = untrainedLike(model, f.seed + 1);
  const pixels = await openPixelInputs(model.run, decoder, [...train, ...heldOut]);
  try {
    const cfg = [{ name: `cfg ${f.scale}`, config: { method: 'cfg' as const, cfgScale: f.scale }, steps: 10 }];
    return evaluateT2I({
      train: { items: train, latents: tl }, heldOut: { items: heldOut, latents: hl },
      models: [{ name: 'text-conditioned DiT^DH', model, guidance: cfg }, { name: 'untrained DiT', model: untrained, guidance: cfg }],
      perPrompt: f.quick ? 1 : 2, seed: f.seed, seenStride: f.quick ? 64 : 8, probeSteps: f.quick ? 50 : 300,
      // colour and skin tone in pixels: every colour × shape emoji, every 3rd role and pair (CI: every 30th)
      pixels: { decode: pixels.decode, real: pixels.real, stride: f.quick ? 30 : 3 },
    });
  } finally {
    untrained.dispose();
    pixels.dispose();
  }
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A self-contained HTML page: the grid (inlined), the prompts, and the metrics tables (from the Markdown report). */
export function renderT2IReport(md: string, grid: string, prompts: { prompt: string; heldOut: boolean }[]): string {
  const tables = md.split('\n').map((l) => {
    if (/^\|[-| ]+\|$/.test(l)) return '';
    if (l.startsWith('|')) return `<tr>${l.slice(1, -1).split('|').map((c) => `<td>${esc(c.trim())}</td>`).join('')}</tr>`;
    if (l.startsWith('## ')) return `</table><h2>${esc(l.slice(3))}</h2><table>`;
    if (l.startsWith('# ')) return '';
    return l.trim() ? `</table><p>${esc(l)}</p><table>` : '';
  }).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>RAEv2 demo — text to image</title>
<style>body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}table{border-collapse:collapse;margin:8px 0}td{border:1px solid #ddd;padding:4px 8px;font-size:13px}img{image-rendering:pixelated;max-width:100%;border:1px solid #ccc}</style>
</head><body>
<h1>RAEv2 demo: text to image (emoji captions, offline SigLIP-2-architecture text tower)</h1>
<p>One row per prompt: its samples (CFG), then the real emoji the prompt describes and, last, the decoder on that emoji's true latent (the most this latent can show). Rows marked [held-out] ask for attribute combinations whose images never reached training (the decoder's included).</p>
<ol>${prompts.map((p) => `<li>${p.heldOut ? '<b>[held-out]</b> ' : '[seen] '}${esc(p.prompt)}</li>`).join('')}</ol>
<img alt="prompt grid" src="${pngDataUri(grid)}">
<table>${tables}</table>
</body></html>
`;
}

export const t2iDemoHelp = T2I_DEMO_USAGE;
export type { Command };
