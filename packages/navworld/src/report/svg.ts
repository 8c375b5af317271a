/** Minimal inline SVG for the navworld report: a line plot per metric, and a top-down map with paths. */
import type { GridMap } from '../world/map.js';
import type { Pose } from '../world/pose.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Line plot of series {name: [[x, y], …]} with point markers and a legend. */
export function linePlot(series: Record<string, [number, number][]>, title: string, xLabel: string, w = 360, h = 220): string {
  const pts = Object.values(series).flat().filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (pts.length === 0) return `<p>${esc(title)}: no data</p>`;
  const [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (y1 - y0 < 1e-9) { y0 -= 1; y1 += 1; }
  const L = 48, R = 110, T = 24, B = 32;
  const sx = (x: number) => L + ((x - x0) / Math.max(1e-9, x1 - x0)) * (w - L - R);
  const sy = (y: number) => h - B - ((y - y0) / (y1 - y0)) * (h - T - B);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" class="plot" aria-label="${esc(title)}" width="${w}" height="${h}" font-family="sans-serif" font-size="10">`,
    `<text x="${w / 2}" y="14" text-anchor="middle" font-size="12">${esc(title)}</text>`,
    `<line x1="${L}" y1="${h - B}" x2="${w - R}" y2="${h - B}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${h - B}" stroke="#333"/>`,
    `<text x="${(L + w - R) / 2}" y="${h - 6}" text-anchor="middle">${esc(xLabel)}</text>`];
  for (const v of [y0, (y0 + y1) / 2, y1]) parts.push(`<text x="${L - 4}" y="${sy(v) + 3}" text-anchor="end">${v.toPrecision(3)}</text>`);
  for (const x of [...new Set(pts.map((p) => p[0]))]) parts.push(`<text x="${sx(x)}" y="${h - B + 12}" text-anchor="middle">${x}</text>`);
  Object.entries(series).forEach(([name, s], i) => {
    const c = COLORS[i % COLORS.length];
    const ok = s.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${ok.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of ok) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${c}"/>`);
    parts.push(`<rect x="${w - R + 8}" y="${T + i * 14}" width="10" height="3" fill="${c}"/><text x="${w - R + 22}" y="${T + i * 14 + 4}">${esc(name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Top-down map (walls grey, y up) with paths {name: poses} drawn as polylines from their first pose. */
export function topDownMap(m: GridMap, paths: Record<string, readonly Pose[]>, scale = 12): string {
  const W = m.width * scale, H = m.height * scale;
  const Y = (y: number) => H - y * scale;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W + 120}" height="${H}" font-family="sans-serif" font-size="10">`, `<rect width="${W}" height="${H}" fill="#f4f1ea"/>`];
  for (let y = 0; y < m.height; y++) for (let x = 0; x < m.width; x++) if (m.cells[y * m.width + x]) parts.push(`<rect x="${x * scale}" y="${Y(y + 1)}" width="${scale}" height="${scale}" fill="#777"/>`);
  for (const p of m.posters) parts.push(`<circle cx="${(p.cx + 0.5) * scale}" cy="${Y(p.cy + 0.5)}" r="${scale / 4}" fill="#f5c400"/>`);
  Object.entries(paths).forEach(([name, ps], i) => {
    const c = COLORS[i % COLORS.length];
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${ps.map((p) => `${(p.x * scale).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of ps) parts.push(`<circle cx="${(p.x * scale).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="2.5" fill="${c}"/>`);
    parts.push(`<rect x="${W + 8}" y="${10 + i * 14}" width="10" height="3" fill="${c}"/><text x="${W + 22}" y="${14 + i * 14}">${esc(name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
