/**
 * The README's first command on the shipped checkpoint: `npm run demo` (no flags but smaller sample
 * grids) installs the decoder and DiT^DH shipped in @raev2/encoders and evaluates them. The scores must
 * reproduce what the fp32 training run measured before export (the manifest's `results`), the trained
 * model must beat the untrained one, and exporting the installed run again must give back the shipped
 * files byte for byte (fp16 ↔ fp32 is lossless both ways). A corrupted shipped file, and a `--train`
 * re-run in the same folder, fail with errors that say what to do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { DemoMetricsSchema, DEMO_FILES, PRETRAINED_DIR, PRETRAINED_FILES, absolutePaths, exportPretrained, readPretrained, stripExportPaths, verifyPretrained } from '@raev2/cli';
import { SafetensorsFile, saveSafetensors, tf } from '@raev2/core';
import { ROOT } from '../../helpers/fixtures.js';

const shipped = readPretrained();
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-demo-pt-'));
const ENV = { ...process.env, RAEV2_QUIET: '1' };
const demo = (...args: string[]) => spawnSync(process.execPath, ['packages/cli/bin/raev2.mjs', 'demo', '--out', out, ...args], { cwd: ROOT, encoding: 'utf8', env: ENV, timeout: 15 * 60_000 });

test('the shipped checkpoint exists, fits in 30 MB and names how it was made', () => {
  assert.ok(shipped, `no manifest in ${PRETRAINED_DIR}`);
  verifyPretrained(shipped);
  const bytes = Object.values(shipped.files).reduce((a, f) => a + f.bytes, 0);
  assert.ok(bytes < 30 * 2 ** 20, `${bytes} bytes`);
  assert.match(shipped.commands[0], /^npm run demo -- --train /);
  // paths are relative to the run's work folder, not to the machine that trained it
  assert.equal((shipped.stage1 as { config: { data: string } }).config.data, 'manifest:<work>/emoji.jsonl');
  assert.ok(!/"\//.test(JSON.stringify([shipped.stage1, shipped.stage2])), 'no absolute path in the configs');
});

/** Every absolute path in a shipped / exported file: text files whole, safetensors by their header (metadata + tensor table). */
function pathsIn(file: string): string[] {
  if (!file.endsWith('.safetensors')) return absolutePaths(fs.readFileSync(file, 'utf8'));
  const f = SafetensorsFile.open(file);
  try {
    return absolutePaths(JSON.stringify({ metadata: f.metadata, tensors: [...f.tensors.keys()] }));
  } finally {
    f.close();
  }
}

test('no shipped file names a machine path (safetensors metadata included)', () => {
  const files = fs.readdirSync(PRETRAINED_DIR);
  assert.deepEqual([...files].sort(), Object.values(PRETRAINED_FILES).sort(), 'every shipped file is one the manifest lists');
  for (const f of files) assert.deepEqual(pathsIn(path.join(PRETRAINED_DIR, f)), [], f);
  // the check itself finds paths where they are
  assert.deepEqual(absolutePaths('{"data":"manifest:/home/u/runs/work/emoji.jsonl","out":"<work>/stage1"}'), ['/home/u/runs/work/emoji.jsonl']);
});

test('stripExportPaths: work folders become <work> in safetensors metadata and JSON (tensor bytes unchanged); any other machine path is an error', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-strip-'));
  const work = path.join(dir, 'run', 'work');
  const st = path.join(dir, 'stats.safetensors');
  const v = tf.tensor2d([[1, 2], [3, 4]]);
  saveSafetensors(st, { var: v }, { metadata: { format: 'raev2-latent-stats', data: `manifest:${work}/emoji.jsonl` } });
  const before = fs.readFileSync(st);
  stripExportPaths(st, [work]);
  const f = SafetensorsFile.open(st);
  assert.equal(f.metadata.data, 'manifest:<work>/emoji.jsonl');
  assert.deepEqual(Array.from(f.read('var').dataSync()), [1, 2, 3, 4]);
  f.close();
  assert.ok(before.subarray(before.length - 16).equals(fs.readFileSync(st).subarray(-16)), 'tensor bytes unchanged');
  const again = fs.readFileSync(st);
  stripExportPaths(st, [work]);
  assert.ok(again.equals(fs.readFileSync(st)), 'a stripped file is left byte for byte');
  const log = path.join(dir, 'log.jsonl');
  fs.writeFileSync(log, `{"out":"${work}/stage1"}\n`);
  stripExportPaths(log, [work]);
  assert.equal(fs.readFileSync(log, 'utf8'), '{"out":"<work>/stage1"}\n');
  fs.writeFileSync(log, '{"data":"folder:/srv/images/x"}\n');
  assert.throws(() => stripExportPaths(log, [work]), (e: Error) => e.message.includes(log) && e.message.includes('/srv/images/x'));
  v.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('npm run demo on the shipped checkpoint reproduces its training run and beats an untrained DiT', async (t) => {
  const r = demo('--per-class', '2', '--sample-steps', '10');
  assert.equal(r.status, 0, `demo exited with ${r.status}:\n${r.stderr.slice(-3000)}`);
  assert.match(r.stderr, /using the shipped checkpoint/);
  const m = DemoMetricsSchema.parse(JSON.parse(fs.readFileSync(path.join(out, DEMO_FILES.metrics), 'utf8')));
  assert.equal(m.mode, 'pretrained');
  assert.deepEqual(m.pretrained?.commands, shipped!.commands);
  for (const f of [DEMO_FILES.samples, DEMO_FILES.reconstructions, DEMO_FILES.report]) assert.ok(fs.existsSync(path.join(out, f)), `${f} was not written`);
  const g = m.generation;
  t.diagnostic(`decoder PSNR ${m.decoder.heldOut.psnr.toFixed(2)} dB; FD latent untrained ${g.untrained.fd.latent.toFixed(3)}, trained ${g.trained.fd.latent.toFixed(3)} (unguided ${g.trainedUnguided.fd.latent.toFixed(3)}); probe ${g.untrained.probeAccuracy} → ${g.trained.probeAccuracy}`);
  assert.ok(g.trained.fd.latent < g.untrained.fd.latent / 2 && g.trained.fd.mobilenetv2 < g.untrained.fd.mobilenetv2);
  assert.ok(g.trained.probeAccuracy! > 2 * g.untrained.probeAccuracy!);

  // against the scores the fp32 run measured before export
  const ref = shipped!.results;
  assert.ok(ref?.decoder && ref.generation, 'the manifest carries the training run results');
  assert.ok(Math.abs(m.decoder.heldOut.psnr - ref.decoder.psnr) < 0.05, `PSNR ${m.decoder.heldOut.psnr} vs ${ref.decoder.psnr} dB`);
  assert.ok(Math.abs(m.decoder.heldOut.ssim - ref.decoder.ssim) < 2e-3, `SSIM ${m.decoder.heldOut.ssim} vs ${ref.decoder.ssim}`);
  // the untrained DiT and the sampling noise are seeded: identical; the trained one differs by fp16 rounding only
  assert.ok(Math.abs(g.untrained.fd.latent - ref.generation.untrained.fd.latent) < 1e-6 * ref.generation.untrained.fd.latent);
  for (const k of ['trained', 'trainedUnguided'] as const) {
    assert.ok(Math.abs(g[k].fd.latent - ref.generation[k].fd.latent) < 0.03 * ref.generation[k].fd.latent, `${k} FD latent ${g[k].fd.latent} vs ${ref.generation[k].fd.latent}`);
    assert.ok(Math.abs(g[k].probeAccuracy! - ref.generation[k].probeAccuracy!) < 0.05, `${k} probe ${g[k].probeAccuracy} vs ${ref.generation[k].probeAccuracy}`);
  }
});

test('exporting the installed run gives back the shipped weights byte for byte', () => {
  const dest = path.join(out, 'export');
  const m = exportPretrained(out, dest, shipped!.commands);
  for (const f of [PRETRAINED_FILES.decoder, PRETRAINED_FILES.dit, PRETRAINED_FILES.stats, PRETRAINED_FILES.stage1Stats, PRETRAINED_FILES.decoderConfig]) {
    assert.deepEqual(m.files[f], shipped!.files[f], f);
  }
  assert.deepEqual(m.stage1, shipped!.stage1);
  assert.deepEqual(m.stage2, shipped!.stage2);
  for (const f of fs.readdirSync(dest)) assert.deepEqual(pathsIn(path.join(dest, f)), [], `exported ${f}`);
});

test('a corrupted shipped file is named; --train in a folder made from the checkpoint asks for --fresh', () => {
  const copy = path.join(out, 'corrupt');
  fs.cpSync(PRETRAINED_DIR, copy, { recursive: true });
  const f = path.join(copy, PRETRAINED_FILES.dit);
  const bytes = fs.readFileSync(f);
  bytes[bytes.length - 1] ^= 0xff;
  fs.writeFileSync(f, bytes);
  assert.throws(() => verifyPretrained(shipped!, copy), (e: Error) => e.message.includes(f) && /corrupted/.test(e.message));
  const r = demo('--train');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /pretrained: true → false.*--fresh/s);
});

test.after(() => {
  if (!process.env.RAEV2_KEEP_DEMO) fs.rmSync(out, { recursive: true, force: true });
});
