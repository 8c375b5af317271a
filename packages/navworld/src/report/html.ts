/**
 * report.html of `navworld eval`: per-split tables and per-horizon plots for the model and its
 * baselines, counterfactual turns, the planning table, rollout videos (files beside the report) and
 * a top-down map of planned vs true paths. Self-contained apart from the video files.
 */
import { ROLLOUT_METHODS, type EvalResult, type Method } from '../eval/evaluate.js';
import { episodePaths, type PlanSummary } from '../plan/episodes.js';
import type { GridMap } from '../world/map.js';
import { linePlot, topDownMap } from './svg.js';

const f = (v: number | undefined, d = 3) => (v == null || !Number.isFinite(v) ? '–' : v.toFixed(d));
const pct = (v: number | undefined) => (v == null || !Number.isFinite(v) ? '–' : `${(100 * v).toFixed(1)} %`);
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export interface ReportInput {
  title: string;
  result: EvalResult;
  plan?: PlanSummary;
  /** The map of a planning episode by its seed (the simulator's), to draw the planned paths on. */
  planMaps?: (seed: number) => GridMap;
  videos: { split: string; file: string }[];
  /** The counterfactual-turn strip (a data URI: turnStripDataUri). */
  turnsImage?: string;
  notes: string[];
}

function table(rows: Record<string, Record<string, { latentCos: number; psnr?: number; ssim?: number; fdLatent: number; actionAcc?: number }>>, methods: readonly string[], what: string): string {
  const act = Object.values(rows).some((r) => Object.values(r).some((s) => s?.actionAcc != null));
  const cols = act ? 5 : 4;
  const head = `<tr><th>${what}</th>${methods.map((m) => `<th colspan="${cols}">${esc(m)}</th>`).join('')}</tr><tr><th></th>${methods.map(() => `<th>cos</th><th>PSNR</th><th>SSIM</th><th>FD</th>${act ? '<th>act</th>' : ''}`).join('')}</tr>`;
  const body = Object.entries(rows).map(([h, r]) => `<tr><td>${h}</td>${methods.map((m) => { const s = r[m]; return s ? `<td>${f(s.latentCos)}</td><td>${f(s.psnr, 2)}</td><td>${f(s.ssim)}</td><td>${f(s.fdLatent, 2)}</td>${act ? `<td>${f(s.actionAcc)}</td>` : ''}` : `<td colspan="${cols}">–</td>`; }).join('')}</tr>`).join('');
  return `<table>${head}${body}</table>`;
}

export function renderReport(r: ReportInput): string {
  const parts: string[] = [`<!doctype html><html><head><meta charset="utf-8"><title>${esc(r.title)}</title><style>body{font-family:sans-serif;margin:24px;max-width:1200px}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right;font-size:12px}.row{display:flex;flex-wrap:wrap;gap:12px}video,img{image-rendering:pixelated}</style></head><body>`, `<h1>${esc(r.title)}</h1>`];
  for (const n of r.notes) parts.push(`<p>${esc(n)}</p>`);
  for (const [split, s] of Object.entries(r.result.splits)) {
    if (!s) continue;
    parts.push(`<h2>${esc(split)}</h2><h3>Single-step prediction (k frames ahead, 4 Hz)</h3><p>cos: latent cosine to the true frame; FD: latent FD; act: inverse-dynamics probe accuracy on (last context frame, prediction), mean over dx / dy / dyaw terciles (chance ≈ 0.33; recon is the ceiling; the probe's accuracy on its real training pairs: ${r.result.inverseDynamics.trainAccuracy.map((a, i) => `${r.result.inverseDynamics.components[i]} ${f(a)}`).join(', ')}).</p>`);
    const methods: Method[] = ['model', 'no-action', 'untrained', 'copy-last', 'recon'];
    parts.push(table(s.singleStep, methods, 'k'));
    parts.push(`<h3>Autoregressive rollouts (step h)</h3>`);
    parts.push(table(s.rollout, [...ROLLOUT_METHODS], 'h'));
    parts.push(`<p>Clip-level FD proxy (per clip: mean and std over time of token-pooled latents; not FVD): ${Object.entries(s.clipFD).map(([m, v]) => `${esc(m)} ${f(v, 2)}`).join(', ')}</p>`);
    const plots = ['latentCos', 'psnr'] as const;
    parts.push('<div class="row">');
    for (const key of plots) {
      parts.push(linePlot(Object.fromEntries(methods.map((m) => [m, Object.entries(s.singleStep).map(([k, v]) => [Number(k), v[m]?.[key] ?? NaN] as [number, number])])), `single-step ${key}`, 'k'));
      parts.push(linePlot(Object.fromEntries(ROLLOUT_METHODS.map((m) => [m, Object.entries(s.rollout).map(([h, v]) => [Number(h), v[m]?.[key] ?? NaN] as [number, number])])), `rollout ${key}`, 'step'));
    }
    parts.push('</div>');
  }
  const t = r.result.turns;
  if (t.actions.length) {
    parts.push(`<h2>Counterfactual turns</h2><p>${t.contexts} held-out contexts, turns of ±${f(t.yaw, 2)} rad in 0.5 s. Mean latent cosine of the prediction for an action (row) with the simulator's true frame after each action (column); a model that follows its actions has the largest value on the diagonal. Per context, the prediction is closest to its own action's true frame in <b>${pct(t.accuracy)}</b> of cases (chance 33 %); a predicted left or right turn is closer to its own true frame than to the opposite turn's in <b>${pct(t.leftRight)}</b> (chance 50 %).</p>`);
    parts.push(`<table><tr><th>pred \\ true</th>${t.actions.map((a) => `<th>${a}</th>`).join('')}<th>PSNR (own)</th></tr>${t.cosine.map((row, i) => `<tr><td>${t.actions[i]}</td>${row.map((v) => `<td>${f(v)}</td>`).join('')}<td>${f(t.psnr[i], 2)}</td></tr>`).join('')}</table>`);
    if (r.turnsImage) parts.push(`<figure><img src="${esc(r.turnsImage)}" alt="counterfactual turns"><figcaption>Per context: the decoded predictions for each action, then the simulator's true frames after it (0.5 s; turns of ±${f(t.yaw, 2)} rad while walking forward).</figcaption></figure>`);
  }
  if (r.plan) {
    parts.push(`<h2>Planning toward a goal image</h2><p>${r.plan.episodes.length} episodes; ${esc(JSON.stringify(r.plan.options))}. Errors in metres against the true path.</p>`);
    parts.push(`<table><tr><th>planner</th><th>ATE</th><th>RPE</th><th>final</th></tr>${Object.entries(r.plan.mean).map(([p, v]) => `<tr><td>${esc(p)}</td><td>${f(v.ate)}</td><td>${f(v.rpe)}</td><td>${f(v.final)}</td></tr>`).join('')}</table>`);
    const eps = r.plan.episodes.slice(0, 8);
    if (r.planMaps && eps.length > 0) {
      parts.push(`<p>Episode 1 on its map, then every episode around its paths (ticks: headings; wall cells are 1 m).</p>`);
      parts.push(topDownMap(r.planMaps(eps[0].map), episodePaths(eps[0])));
      parts.push(`<div class="row">${eps.map((ep, i) => `<figure>${topDownMap(r.planMaps!(ep.map), episodePaths(ep), { scale: 80, around: 0.75, legend: false })}<figcaption>episode ${i + 1}: CEM ATE ${f(ep.errors.cem.ate)}, random ${f(ep.errors.random.ate)} m</figcaption></figure>`).join('')}</div>`);
    }
  }
  if (r.videos.length) {
    parts.push('<h2>Rollouts (predicted | true)</h2><div class="row">');
    for (const v of r.videos) parts.push(v.file.endsWith('.gif') ? `<figure><img src="${esc(v.file)}" width="400"><figcaption>${esc(v.split)}</figcaption></figure>` : `<figure><video src="${esc(v.file)}" width="400" controls loop muted autoplay></video><figcaption>${esc(v.split)}</figcaption></figure>`);
    parts.push('</div>');
  }
  parts.push('</body></html>');
  return parts.join('\n');
}
