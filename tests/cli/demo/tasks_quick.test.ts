/**
 * The task demos end to end in CI: `npm run demo -- --task t2i --quick` and `--task navworld --quick`
 * train every part small, evaluate, and write a report that renders in headless Chromium (the
 * navworld rollout videos play there).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { ROOT } from '../../helpers/fixtures.js';

const dirs: string[] = [];
test.after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const demoArgs = (task: string, out: string) => ['packages/cli/bin/raev2.mjs', 'demo', '--task', task, '--quick', '--out', out];

/** Start the demo and send one SIGINT once its decoder run has a checkpoint; resolves with the exit. */
function interrupted(task: string, out: string, stage1: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, demoArgs(task, out), { cwd: ROOT, env: { ...process.env, RAEV2_QUIET: '1' } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const poll = setInterval(() => {
      if (fs.existsSync(stage1) && fs.readdirSync(stage1).some((f) => f.startsWith('ckpt-'))) {
        clearInterval(poll);
        child.kill('SIGINT');
      }
    }, 200);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ code, stderr });
    });
  });
}

function runDemo(task: string, out = fs.mkdtempSync(path.join(os.tmpdir(), `raev2-demo-${task}-`))): { out: string; secs: number } {
  dirs.push(out);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, demoArgs(task, out), { cwd: ROOT, encoding: 'utf8', env: { ...process.env, RAEV2_QUIET: '1' }, timeout: 15 * 60_000 });
  const secs = (Date.now() - t0) / 1000;
  assert.equal(r.status, 0, `demo --task ${task} --quick exited with ${r.status} (${r.signal ?? ''}) after ${secs.toFixed(0)} s:\n${r.stderr.slice(-3000)}`);
  return { out, secs };
}

/** report.html through scripts/screenshot-report.mjs; a missing Chromium fails under CI. */
function checkReport(t: { skip(msg: string): void }, report: string, task: string): Record<string, unknown> | null {
  const r = spawnSync(process.execPath, ['scripts/screenshot-report.mjs', report, path.join(path.dirname(report), 'report.png'), '--task', task], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
  if (r.status === 77) {
    assert.ok(process.env.CI !== 'true', `chromium is not installed under CI: ${r.stdout.trim()}`);
    t.skip(`chromium is not installed: ${r.stdout.trim()}`);
    return null;
  }
  assert.equal(r.status, 0, `screenshot-report --task ${task} failed:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

test('demo --task t2i --quick: Ctrl-C stops with 130 and a checkpoint; the same command finishes: grid, metrics.json and a report that renders', async (t) => {
  const first = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-demo-t2i-'));
  const stopped = await interrupted('t2i', first, path.join(first, 'work', 'stage1'));
  assert.equal(stopped.code, 130, `interrupted t2i demo: code ${stopped.code}\n${stopped.stderr.slice(-2000)}`);
  assert.match(stopped.stderr, /run the same command again to continue/);
  assert.ok(!fs.existsSync(path.join(first, 'grid.png')), 'an interrupted demo went on to sample from a half-trained model');
  const { out, secs } = runDemo('t2i', first);
  t.diagnostic(`demo --task t2i --quick took ${secs.toFixed(0)} s`);
  for (const f of ['grid.png', 'metrics.json', 'report.html']) assert.ok(fs.existsSync(path.join(out, f)), `${f} is missing`);
  const m = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as { checkpoint: string; rows: { model: string; set: string; attributeMean: number; fdLatent: number }[]; prompts: unknown[] };
  assert.equal(m.checkpoint, 'trained here');
  assert.ok(m.prompts.length >= 4);
  const models = new Set(m.rows.map((r) => r.model));
  assert.equal(models.size, 2, `the text model and the untrained baseline: ${[...models]}`);
  for (const r of m.rows) assert.ok(finite(r.attributeMean) && finite(r.fdLatent), `row ${JSON.stringify(r).slice(0, 200)}`);
  // attributes in pixels: the decoder's ceiling and both models, on seen and held-out sibling prompts
  const px = (m as unknown as { pixels: { model: string; set: string; tests: Record<string, { accuracy: number; chance: number; count: number }> }[] }).pixels;
  assert.deepEqual([...new Set(px.map((r) => r.model))], ['decoder on the true latent', 'text-conditioned DiT^DH', 'untrained DiT']);
  assert.deepEqual([...new Set(px.map((r) => r.set))], ['seen', 'held-out']);
  for (const r of px) {
    assert.ok(r.tests.colour && r.tests['skin tone'], `pixel tests of ${r.model} (${r.set}): ${Object.keys(r.tests)}`);
    for (const [name, v] of Object.entries(r.tests)) assert.ok(v.accuracy >= 0 && v.accuracy <= 1 && v.chance > 0 && v.chance < 1 && v.count > 0, `${r.model} ${r.set} ${name}`);
  }
  checkReport(t, path.join(out, 'report.html'), 't2i');
});

test('demo --task navworld --quick: world, decoder and DiT^DH trained small, evaluation, planning, videos and a report that renders', (t) => {
  const { out, secs } = runDemo('navworld');
  t.diagnostic(`demo --task navworld --quick took ${secs.toFixed(0)} s`);
  for (const f of ['metrics.json', 'report.html']) assert.ok(fs.existsSync(path.join(out, f)), `${f} is missing`);
  const m = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as { splits: Record<string, { singleStep: Record<string, Record<string, { latentCos: number; actionAcc?: number }>>; rollout: Record<string, Record<string, { latentCos: number }>> }>; plan: { mean: Record<string, { ate: number }> }; inverseDynamics: { trainAccuracy: number[] } };
  for (const split of ['heldout-map', 'heldout-traj']) {
    for (const k of ['1', '2', '4', '8']) {
      const row = m.splits[split].singleStep[k];
      for (const method of ['model', 'no-action', 'untrained', 'copy-last', 'recon']) assert.ok(finite(row[method].latentCos) && finite(row[method].actionAcc), `${split} k=${k} ${method}`);
      assert.ok(Math.abs(row.recon.latentCos - 1) < 1e-5, 'recon scores the true latent against itself');
    }
    for (const [h, row] of Object.entries(m.splits[split].rollout)) for (const method of ['model', 'frame-by-frame', 'no-action', 'copy-last']) assert.ok(finite(row[method].latentCos), `${split} rollout step ${h} ${method}`);
  }
  assert.equal(m.inverseDynamics.trainAccuracy.length, 3);
  const turns = (m as unknown as { turns: { accuracy: number; leftRight: number; contexts: number; yaw: number; cosine: number[][] } }).turns;
  assert.equal(turns.contexts, 2, 'the quick demo scores 2 turn contexts');
  assert.equal(turns.yaw, 1, 'default turn of 1 rad');
  for (const v of [turns.accuracy, turns.leftRight]) assert.ok(v >= 0 && v <= 1, `turn score ${v}`);
  assert.equal(turns.cosine.length, 3);
  for (const p of ['cem', 'random', 'cem-no-action']) assert.ok(finite(m.plan.mean[p].ate), `planning ${p}`);
  const videos = fs.readdirSync(out).filter((f) => f.endsWith('.mp4') || f.endsWith('.gif'));
  assert.ok(videos.length >= 3, `rollout videos: ${videos}`);
  const info = checkReport(t, path.join(out, 'report.html'), 'navworld');
  if (info) assert.ok((info.videos as unknown[]).length >= 3);
});
