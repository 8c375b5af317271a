#!/usr/bin/env node
// Renders a demo report.html in headless Chromium (Debian's /usr/bin/chromium through playwright-core),
// takes a full-page screenshot and checks that the page is complete offline: the sample grid and the
// reconstructions decoded (naturalWidth > 0), the inline SVG plots drew lines, and nothing was
// fetched from the network.
//
//   node scripts/screenshot-report.mjs <report.html> [screenshot.png] [--task class|t2i|navworld]
//
// --task t2i: every image decodes and is inline, and a scores table is there; --task navworld: the
// plots drew, every rollout video loads and has a duration (H.264 in this browser), tables are there.
//
// Prints one JSON object on stdout. Exit 0: checks passed; 1: a check failed; 2: usage;
// 77: skipped, no Chromium (set CHROMIUM_PATH to use another binary).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const argv = process.argv.slice(2);
const taskAt = argv.indexOf('--task');
const task = taskAt >= 0 ? argv.splice(taskAt, 2)[1] : 'class';
if (!['class', 't2i', 'navworld'].includes(task)) {
  console.error(`--task ${task}: expected class, t2i or navworld`);
  process.exit(2);
}
const [reportArg, shotArg] = argv;
if (!reportArg || reportArg === '--help') {
  console.error('usage: node scripts/screenshot-report.mjs <report.html> [screenshot.png]');
  process.exit(2);
}
const report = path.resolve(reportArg);
if (!fs.existsSync(report)) {
  console.error(`no such file: ${report}`);
  process.exit(2);
}
const screenshot = path.resolve(shotArg ?? path.join(path.dirname(report), 'report.png'));
const executablePath = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
if (!executablePath) {
  console.log(JSON.stringify({ skipped: 'chromium not found (apt-get install -y chromium, or set CHROMIUM_PATH)' }));
  process.exit(77);
}

const { chromium } = await import('playwright-core');
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-report-chromium-'));
const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
let context;
const problems = [];
try {
  // headless: true is playwright's --headless; the fresh profile is its --user-data-dir
  context = await chromium.launchPersistentContext(userDataDir, { executablePath, headless: true, args, viewport: { width: 1200, height: 900 }, timeout: 60_000 });
  const page = context.pages()[0] ?? (await context.newPage());
  const requests = [];
  page.on('request', (r) => requests.push(r.url().slice(0, 80)));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(pathToFileURL(report).href, { waitUntil: 'load', timeout: 60_000 });
  const videos = await page.evaluate(() => Promise.all([...document.querySelectorAll('video')].map((v) => new Promise((resolve) => {
    const done = () => resolve({ src: v.getAttribute('src'), readyState: v.readyState, duration: v.duration, width: v.videoWidth, error: v.error ? v.error.code : null });
    if (v.readyState >= 2 || v.error) return done();
    v.addEventListener('loadeddata', done, { once: true });
    v.addEventListener('error', done, { once: true });
    setTimeout(done, 20000);
  }))));
  const info = await page.evaluate(() => ({
    title: document.title,
    images: [...document.images].map((im) => ({ id: im.id, complete: im.complete, naturalWidth: im.naturalWidth, naturalHeight: im.naturalHeight, inline: im.src.startsWith('data:image/png;base64,') })),
    plots: [...document.querySelectorAll('svg.plot')].map((s) => {
      const box = s.getBoundingClientRect();
      return { label: s.getAttribute('aria-label'), width: box.width, height: box.height, lines: s.querySelectorAll('polyline').length, points: [...s.querySelectorAll('polyline')].reduce((n, p) => n + p.points.numberOfItems, 0) };
    }),
    scoreRows: document.querySelectorAll('#scores tr').length,
    tableRows: document.querySelectorAll('table tr').length,
  }));
  info.videos = videos;
  await page.screenshot({ path: screenshot, fullPage: true });
  if (task === 'class') {
    for (const id of ['samples', 'reconstructions']) {
      const im = info.images.find((i) => i.id === id);
      if (!im) problems.push(`image #${id} is missing`);
      else if (!(im.complete && im.naturalWidth > 0 && im.naturalHeight > 0)) problems.push(`image #${id} did not decode (naturalWidth ${im.naturalWidth})`);
      else if (!im.inline) problems.push(`image #${id} is not an inline data URI`);
    }
    if (info.plots.length < 3) problems.push(`expected at least 3 SVG plots, found ${info.plots.length}`);
    for (const p of info.plots) if (!(p.width > 0 && p.height > 0 && p.lines > 0 && p.points > 0)) problems.push(`plot "${p.label}" drew nothing (${p.lines} lines, ${p.points} points, ${p.width}×${p.height})`);
    if (info.scoreRows < 3) problems.push(`the scores table has ${info.scoreRows} rows`);
  } else {
    if (info.tableRows < 3) problems.push(`the report has ${info.tableRows} table rows`);
    if (task === 't2i' && info.images.length === 0) problems.push('the report has no image');
    for (const im of info.images) {
      if (!(im.complete && im.naturalWidth > 0)) problems.push(`an image did not decode (naturalWidth ${im.naturalWidth})`);
      else if (!im.inline) problems.push('an image is not an inline data URI');
    }
    if (task === 'navworld') {
      if (info.plots.length < 2) problems.push(`expected per-horizon plots, found ${info.plots.length}`);
      for (const p of info.plots) if (!(p.lines > 0 && p.points > 0)) problems.push(`plot "${p.label}" drew nothing`);
      if (videos.length === 0) problems.push('the report has no rollout video');
      for (const v of videos) if (!(v.readyState >= 2 && v.duration > 0 && v.width > 0)) problems.push(`video ${v.src} did not load (readyState ${v.readyState}, duration ${v.duration}, error ${v.error})`);
    }
  }
  const remote = requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'));
  if (remote.length) problems.push(`the page fetched ${remote.length} non-local resources: ${remote.slice(0, 3).join(', ')}`);
  console.log(JSON.stringify({ ok: problems.length === 0, problems, screenshot, executablePath, ...info, requests: requests.length }, null, 2));
} catch (e) {
  problems.push(`${e.message}`);
  console.log(JSON.stringify({ ok: false, problems, screenshot }));
} finally {
  await context?.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(problems.length === 0 ? 0 : 1);
