/**
 * `report.html` of a demo run: one self-contained page (images as data URIs, plots as inline SVG,
 * no scripts, no external resources) that opens from disk in any browser — samples, scores of the
 * trained vs the untrained DiT, reconstructions, training curves, data, timings, configuration.
 */
import * as fs from 'node:fs';
import { formatDuration } from '@raev2/core';
import type { DemoMetrics, GenerationScore } from './metrics.js';
import { escapeXml, linePlot, type Series } from './svg.js';

export interface ReportInput {
  metrics: DemoMetrics;
  /** PNG files to inline. */
  images: { samples: string; reconstructions: string };
  /** Loss records of the two training runs (log.jsonl lines). */
  decoderLog: Record<string, unknown>[];
  ditLog: Record<string, unknown>[];
}

/** Width and height of a PNG file (from its IHDR chunk). */
export function pngSize(file: string): [number, number] {
  const b = fs.readFileSync(file);
  if (b.length < 24 || b.toString('latin1', 1, 4) !== 'PNG') throw new Error(`${file} is not a PNG file`);
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

/** An inline <img> shown at 2× (pixelated), at most the page width. */
function inlineImage(id: string, alt: string, file: string): string {
  const [w] = pngSize(file);
  return `<img id="${id}" alt="${escapeXml(alt)}" style="width:${2 * w}px" src="${pngDataUri(file)}">`;
}

/** A PNG file as a data URI. */
export function pngDataUri(file: string): string {
  return `data:image/png;base64,${fs.readFileSync(file).toString('base64')}`;
}

/** [step, value] pairs of one scalar of a log. */
export function logSeries(log: Record<string, unknown>[], key: string): [number, number][] {
  return log.flatMap((r) => (typeof r.step === 'number' && typeof r[key] === 'number' ? [[r.step, r[key] as number] as [number, number]] : []));
}

const fmt = (v: number | undefined, digits = 3) => (v == null ? '—' : Math.abs(v) >= 1000 ? v.toFixed(0) : v.toFixed(digits));
const pct = (v: number | undefined) => (v == null ? '—' : `${(100 * v).toFixed(1)} %`);

function scoreRows(g: DemoMetrics['generation']): string {
  const cols: [string, GenerationScore][] = [['untrained DiT', g.untrained], ['trained, unguided', g.trainedUnguided], [`trained, ${g.trained.guidance}`, g.trained]];
  const spaces = Object.keys(g.trained.fd);
  const floor = g.trained.fdHeldOut;
  const row = (name: string, cells: string[], last = '—') => `<tr><th>${escapeXml(name)}</th>${cells.map((c) => `<td>${c}</td>`).join('')}<td>${last}</td></tr>`;
  const head = `<tr><th>metric</th>${cols.map(([n]) => `<th>${escapeXml(n)}</th>`).join('')}<th>real held-out images</th></tr>`;
  return [
    head,
    ...spaces.map((s) => row(`FD (${s}) ↓`, cols.map(([, m]) => fmt(m.fd[s])), fmt(floor?.[s]))),
    row('FD_r ↓ (1 = as close as real held-out images)', cols.map(([, m]) => fmt(m.fdr)), '1'),
    row('probe class accuracy ↑', cols.map(([, m]) => pct(m.probeAccuracy)), pct(g.trained.probeHeldOutAccuracy)),
    row('network evaluations per image', cols.map(([, m]) => fmt(m.nfePerImage, 0))),
  ].join('\n');
}

function plots(r: ReportInput): string[] {
  const m = r.metrics;
  const out: string[] = [];
  const dec: Series[] = [{ name: 'total', points: logSeries(r.decoderLog, 'loss') }, { name: 'L1', points: logSeries(r.decoderLog, 'l1') }, { name: 'perceptual', points: logSeries(r.decoderLog, 'perceptual') }];
  out.push(linePlot(dec, { title: 'Decoder training loss', xLabel: 'step', yLabel: 'loss', logY: true }));
  const dit: Series[] = [{ name: 'total', points: logSeries(r.ditLog, 'loss') }, { name: 'full head', points: logSeries(r.ditLog, 'full') }, { name: 'base head', points: logSeries(r.ditLog, 'base') }];
  out.push(linePlot(dit, { title: 'DiT training loss (v-space)', xLabel: 'step', yLabel: 'loss', logY: true }));
  const curve = m.generation.overTraining;
  const fd: Series[] = Object.keys(m.generation.trained.fd).map((s) => ({ name: `FD ${s}`, points: curve.map((p) => [p.step, p.fd[s]] as [number, number]) }));
  out.push(linePlot(fd, { title: 'FD of generated samples over DiT training', xLabel: 'DiT step', yLabel: 'FD', logY: true, markers: true }));
  const probe: Series[] = [{ name: 'probe accuracy', points: curve.flatMap((p) => (p.probeAccuracy != null ? [[p.step, 100 * p.probeAccuracy] as [number, number]] : [])) }];
  out.push(linePlot(probe, { title: 'Class accuracy of generated samples', xLabel: 'DiT step', yLabel: 'accuracy (%)', markers: true }));
  const sweep = m.decoder.kSweep;
  if (sweep && sweep.length) out.push(linePlot([{ name: 'PSNR', points: sweep.map((s) => [s.k, s.psnr] as [number, number]) }], { title: 'Decoder PSNR per K (last K blocks)', xLabel: 'K', yLabel: 'PSNR (dB)', markers: true }));
  return out;
}

function table(rows: [string, string][]): string {
  return `<table>${rows.map(([k, v]) => `<tr><th>${escapeXml(k)}</th><td>${escapeXml(v)}</td></tr>`).join('')}</table>`;
}

/** The report as an HTML string. */
export function renderReport(r: ReportInput): string {
  const m = r.metrics;
  const g = m.generation;
  const d = m.decoder.heldOut;
  const lat = m.latent;
  const v = m.versions;
  const stages = Object.entries(m.timings.stages).map(([k, s]) => [k, formatDuration(s)] as [string, string]);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>RAEv2 demo — class-conditional emoji</title>
<style>
body{font-family:system-ui,-apple-system,"DejaVu Sans",sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:24px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;font-size:13px}
th{background:#f6f6f6}img{image-rendering:pixelated;max-width:100%;border:1px solid #ccc}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plot{border:1px solid #eee}pre{background:#f6f6f6;padding:8px;font-size:11px;overflow:auto;max-height:420px}
.note{color:#555;font-size:13px}
</style></head><body>
<h1>RAEv2 demo: class-conditional emoji</h1>
<p class="note">${escapeXml(m.mode)} run, ${escapeXml(m.created)} — ${formatDuration(m.timings.totalSec)} wall time (budget ${formatDuration(m.timings.budgetSec)}) on ${escapeXml(String(v.backend))} (${escapeXml(String(v.threads))} threads, ${escapeXml(String(v.cpus))}).
Images ${lat.imageSize} px; latent: ${escapeXml(lat.encoder)} at ${lat.encoderRes} px input, mean of its hidden states ${lat.layers.join(', ')} (the multi-layer latent) → ${lat.grid.join('×')}×${lat.channels} tokens.
DiT^DH: ${g.parameters.toLocaleString('en')} parameters, ${g.ditSteps} steps, shift ${g.shift.toFixed(3)}.</p>
${m.pretrained ? `<p class="note" id="pretrained">Decoder and DiT from the checkpoint shipped with @raev2/encoders (exported ${escapeXml(m.pretrained.created)}; its training took ${formatDuration(Object.values(m.pretrained.trainingSeconds).reduce((a, b) => a + b, 0))}), made by <code>${m.pretrained.commands.map(escapeXml).join('</code> then <code>')}</code>. The training curves below are that run's; <code>npm run demo -- --train</code> trains here instead.</p>\n` : ''}
<h2>Generated samples</h2>
<p class="note">One row per category; Euler, ${escapeXml(g.trained.guidance)} free guidance for t ∈ [0.1, 1] (base head inside the same forward pass: 1 network evaluation per step).</p>
${inlineImage('samples', 'generated emoji, one row per category', r.images.samples)}

<h2>Scores: trained vs untrained DiT</h2>
<p class="note">${g.trained.count} generated samples per model (class-balanced, ${g.trained.steps} Euler steps) compared with the ${m.data.trainImages} training images; the last column compares ${m.data.heldOutImages} real held-out images with the same training images.</p>
<table id="scores">${scoreRows(g)}</table>

<h2>Decoder (held-out reconstructions)</h2>
<p class="note">Top row: held-out originals; bottom row: decoded from their latent (no noise). ${d.images} held-out images: PSNR ${fmt(d.psnr, 2)} dB, SSIM ${fmt(d.ssim, 4)}, rFD ${fmt(d.rfd)}. ${m.decoder.steps} training steps.</p>
${inlineImage('reconstructions', 'originals above reconstructions', r.images.reconstructions)}

<h2>Training curves</h2>
<p class="note">${(m.config.plan as { parallel?: boolean } | undefined)?.parallel ? 'The decoder and the DiT train at the same time, one process per core.' : 'The decoder trains first, then the DiT.'} During DiT training the generation metrics are computed in the latent space (the decoder is still training); the MobileNetV2 FD is measured for the untrained and the final model.</p>
<div class="plots">${plots(r).join('\n')}</div>

<h2>Data</h2>
<p class="note">${escapeXml(m.data.source)}; class = emoji category${m.data.skinTones ? '' : ', skin-tone variants left out'}. ${m.data.trainImages} training / ${m.data.heldOutImages} held-out images. Dropped (too few images): ${escapeXml(m.data.dropped.map((c) => `${c.name} (${c.count})`).join(', ') || 'none')}.</p>
${table(m.data.classes.map((c) => [c.name, String(c.count)]))}

<h2>Timings</h2>
${table([...stages, ['total', formatDuration(m.timings.totalSec)], ['planned', formatDuration(m.timings.plannedSec)]])}

<h2>Versions</h2>
${table(Object.entries(v).map(([k, x]) => [k, String(x)]))}

<h2>Configuration</h2>
<pre>${escapeXml(JSON.stringify(m.config, null, 2))}</pre>
</body></html>
`;
}
