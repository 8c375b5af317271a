/**
 * The "last K layers" sweep (docs/method.md §1.1) at CPU scale: train one RAE decoder per K = 1, 2, 3 on the
 * offline MobileNetV2's stride-16 stage (blocks 10–12, last-K, mean of the affine-free LayerNorms)
 * with the google emoji images, then score each on a held-out split: PSNR, SSIM and rFD (Fréchet
 * distance of MobileNetV2 stride-32 pooled features, reconstructions vs originals). The published
 * trend (DINOv3-L on ImageNet): PSNR rises with K.
 *
 *   node --conditions=@raev2/source --import tsx examples/k-sweep.ts [--image-size 112] [--train 1024]
 *        [--held-out 256] [--steps 600] [--batch 16] [--lr 2e-3] [--noise-tau 0.8] [--ema 0.99] [--out outputs/k-sweep]
 *
 * With the defaults it takes ≈ 13 CPU-minutes (one core; the second stays free). EMA 0.99 instead of
 * the published 0.9978: over 600 steps the slower average would still hold a large share of the
 * random initial decoder.
 *
 * The encoder runs once: every image's three block outputs are encoded in one pass and each K's
 * latent is combined from them (the encoder is frozen and nothing is augmented, so this is exact).
 * Each decoder trains with L1 only (the perceptual and GAN terms cost a MobileNetV2 backward pass per
 * step, too much for this budget; PSNR is what the sweep measures). Writes <out>/k-sweep.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import {
  tf,
  initRuntime,
  combineLayers,
  disposeOutput,
  encodeImages,
  lastK,
  loadDecoder,
  openDataSource,
  parseStage1Config,
  pooledFeatures,
  progress,
  psnr,
  ssim,
  stage1Split,
  trainStage1,
  FeatureStats,
  frechetDistanceOf,
  formatEvalTable,
  ImageStore,
  type Encoder,
  type LayerSelection,
  type ReconstructionSummary,
} from '@raev2/core';
import { loadEncoder } from '@raev2/encoders';

const { values: flags } = parseArgs({
  options: {
    'image-size': { type: 'string', default: '112' },
    train: { type: 'string', default: '1024' },
    'held-out': { type: 'string', default: '256' },
    steps: { type: 'string', default: '600' },
    batch: { type: 'string', default: '16' },
    'noise-tau': { type: 'string', default: '0.8' },
    ema: { type: 'string', default: '0.99' },
    lr: { type: 'string', default: '2e-3' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string', default: 'outputs/k-sweep' },
  },
});
const num = (k: keyof typeof flags): number => {
  const v = Number(flags[k]);
  if (!Number.isFinite(v)) throw new Error(`--${k} ${flags[k]} is not a number`);
  return v;
};
const SIZE = num('image-size'), TRAIN = num('train'), HELD = num('held-out'), STEPS = num('steps'), BATCH = num('batch');
const KS = [1, 2, 3];
const OUT = flags.out!;
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

await initRuntime();
// MobileNetV2 stage 10-12 (three stride-16 blocks, 96 channels) at SIZE px: grid SIZE/16
const { encoder } = await loadEncoder(`mobilenetv2-nsfwjs[layers=all,res=${SIZE}]`);
// rFD features: token-mean of the stride-32 block 15 at the smallest side ≥ SIZE it accepts
const RFD_SPEC = `mobilenetv2-nsfwjs[stage=13-15,res=${Math.ceil(SIZE / 32) * 32}]`;
const { encoder: rfdEncoder } = await loadEncoder(RFD_SPEC);
const split = stage1Split(openDataSource('emoji:google'), HELD, num('seed'), TRAIN);
const [trainStore, heldStore] = await Promise.all([ImageStore.load(split.train, [SIZE, SIZE]), ImageStore.load(split.heldOut!, [SIZE, SIZE])]);
console.log(`emoji: ${trainStore.count} train, ${heldStore.count} held-out at ${SIZE} px; encoder ${encoder.name} (${encoder.numLayers} blocks) [${elapsed()}]`);

const selections: LayerSelection[] = KS.map((k) => ({ layers: lastK(encoder.numLayers, k), combine: 'mean' }));

/** One encoder pass over a store → each K's raw latent, flat [count · N · C]. */
function encodeAllK(enc: Encoder, store: ImageStore, label: string): Float32Array[] {
  const bar = progress({ label, total: store.count, unit: 'img' });
  const chunks: Float32Array[][] = KS.map(() => []);
  let done = 0;
  for (const idx of store.ranges(32)) {
    const x = store.batch(idx);
    const out = encodeImages(enc, x);
    x.dispose();
    selections.forEach((sel, i) => {
      const z = combineLayers(out, sel, (h) => enc.latentNorm(h));
      chunks[i].push(z.dataSync() as Float32Array);
      z.dispose();
    });
    disposeOutput(out);
    bar.update((done += idx.length));
  }
  bar.finish();
  return chunks.map((c) => {
    const all = new Float32Array(c.reduce((n, a) => n + a.length, 0));
    let o = 0;
    for (const a of c) all.set(a, (o += a.length) - a.length);
    return all;
  });
}

const trainLatents = encodeAllK(encoder, trainStore, 'encode train');
const heldLatents = encodeAllK(encoder, heldStore, 'encode held-out');
const tokens = (SIZE / 16) ** 2, channels = encoder.hiddenSize;
console.log(`latents: ${tokens} tokens × ${channels} channels per image [${elapsed()}]`);

// rFD reference: pooled features of the held-out originals, once
const realFeatures = new FeatureStats(rfdEncoder.hiddenSize);
for (const idx of heldStore.ranges(32)) {
  const x = heldStore.batch(idx);
  const f = pooledFeatures(rfdEncoder, x);
  realFeatures.update(f);
  tf.dispose([x, f]);
}

const rows: { name: string; k: number; layers: number[]; summary: ReconstructionSummary; trainSeconds: number; finalL1: number }[] = [];
for (const [i, k] of KS.entries()) {
  const dir = path.join(OUT, `K${k}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const cfg = parseStage1Config({
    encoder: `mobilenetv2-nsfwjs[layers=last${k}]`,
    imageSize: SIZE,
    data: 'emoji:google',
    heldOut: HELD,
    splitSeed: num('seed'),
    maxImages: TRAIN,
    steps: STEPS,
    batchSize: BATCH,
    lr: num('lr'),
    finalLr: num('lr') / 10,
    warmupEpochs: 0.25,
    ema: num('ema'),
    noiseTau: num('noise-tau'),
    perceptual: { weight: 0, net: 'none' },
    gan: { enabled: false },
    out: dir,
    seed: num('seed'),
    checkpointEvery: STEPS,
    logEvery: 25,
    sampleEvery: 0,
  });
  let finalL1 = NaN;
  const t = performance.now();
  await trainStage1(cfg, { encoder, selection: selections[i], images: trainStore, perceptual: null, discBackbone: null, latents: trainLatents[i] }, { resume: false, onLog: (r) => (finalL1 = Number(r.l1)) });
  const trainSeconds = (performance.now() - t) / 1000;

  // score the EMA decoder on the held-out latents (cached: same encoder pass, no noise)
  const decoder = loadDecoder(path.join(dir, 'decoder'));
  const fake = new FeatureStats(rfdEncoder.hiddenSize);
  let p = 0, s = 0, n = 0;
  const per = tokens * channels;
  for (const idx of heldStore.ranges(32)) {
    const x = heldStore.batch(idx);
    const z = tf.tensor3d(heldLatents[i].subarray(idx[0] * per, (idx[idx.length - 1] + 1) * per), [idx.length, tokens, channels]);
    // MobileNet's pixel space is [0, 1] (mean 0, std 1): the decoder output is the image
    const r = tf.tidy(() => decoder.decode(z).clipByValue(0, 1));
    for (const v of psnr(x, r)) p += v;
    for (const v of ssim(x, r)) s += v;
    const f = pooledFeatures(rfdEncoder, r);
    fake.update(f);
    tf.dispose([x, z, r, f]);
    n += idx.length;
  }
  decoder.dispose();
  const summary: ReconstructionSummary = { count: n, psnr: p / n, ssim: s / n, rfd: frechetDistanceOf(realFeatures, fake) };
  rows.push({ name: `K=${k} (blocks ${selections[i].layers.map((l) => l + 10).join(',')})`, k, layers: selections[i].layers, summary, trainSeconds, finalL1 });
  console.log(`K=${k}: PSNR ${summary.psnr.toFixed(2)} dB, SSIM ${summary.ssim.toFixed(4)}, rFD ${summary.rfd!.toFixed(3)} (train ${trainSeconds.toFixed(0)} s) [${elapsed()}]`);
}

console.log(`\nheld-out reconstruction, ${heldStore.count} google emoji at ${SIZE} px, ${STEPS} steps × ${BATCH} per K:\n`);
console.log(formatEvalTable(rows.map((r) => ({ name: r.name, summary: r.summary }))));
fs.mkdirSync(OUT, { recursive: true });
const json = path.join(OUT, 'k-sweep.json');
fs.writeFileSync(json, JSON.stringify({ imageSize: SIZE, train: trainStore.count, heldOut: heldStore.count, steps: STEPS, batch: BATCH, noiseTau: num('noise-tau'), ema: num('ema'), lr: num('lr'), rfdFeatures: RFD_SPEC, totalSeconds: (performance.now() - t0) / 1000,
  results: rows.map((r) => ({ k: r.k, mobilenetBlocks: r.layers.map((l) => l + 10), psnr: r.summary.psnr, ssim: r.summary.ssim, rfd: r.summary.rfd, images: r.summary.count, trainSeconds: r.trainSeconds, finalTrainL1: r.finalL1 })) }, null, 2) + '\n');
console.log(`\nwrote ${json} (total ${elapsed()})`);
encoder.dispose();
rfdEncoder.dispose();
