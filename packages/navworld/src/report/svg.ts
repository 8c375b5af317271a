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

export interface MapView {
  /** Pixels per metre (one map cell is 1 m; default 12). */
  scale?: number;
  /** Show only the paths' bounding box with this margin (m), instead of the whole map. */
  around?: number;
  /** Draw the legend (default true). */
  legend?: boolean;
}

/**
 * Top-down map (walls grey, posters yellow, y up) with paths {name: poses} drawn as polylines from
 * their first pose, each pose with a tick along its heading.
 */
export function topDownMap(m: GridMap, paths: Record<string, readonly Pose[]>, o: MapView = {}): string {
  const scale = o.scale ?? 12;
  const W = m.width * scale, H = m.height * scale;
  const Y = (y: number) => H - y * scale;
  const all = Object.values(paths).flat();
  const [x0, x1, y0, y1] = o.around === undefined || all.length === 0
    ? [0, m.width, 0, m.height]
    : [Math.max(0, Math.min(...all.map((p) => p.x)) - o.around), Math.min(m.width, Math.max(...all.map((p) => p.x)) + o.around),
      Math.max(0, Math.min(...all.map((p) => p.y)) - o.around), Math.min(m.height, Math.max(...all.map((p) => p.y)) + o.around)];
  const vw = (x1 - x0) * scale, vh = (y1 - y0) * scale;
  const legend = o.legend ?? true;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${(vw + (legend ? 120 : 0)).toFixed(0)}" height="${vh.toFixed(0)}" font-family="sans-serif" font-size="10">`,
    `<svg width="${vw.toFixed(1)}" height="${vh.toFixed(1)}" viewBox="${(x0 * scale).toFixed(1)} ${Y(y1).toFixed(1)} ${vw.toFixed(1)} ${vh.toFixed(1)}">`,
    `<rect width="${W}" height="${H}" fill="#f4f1ea"/>`];
  for (let y = Math.floor(y0); y < Math.ceil(y1); y++) for (let x = Math.floor(x0); x < Math.ceil(x1); x++) if (m.cells[y * m.width + x]) parts.push(`<rect x="${x * scale}" y="${Y(y + 1)}" width="${scale}" height="${scale}" fill="#777"/>`);
  for (const p of m.posters) parts.push(`<circle cx="${(p.cx + 0.5) * scale}" cy="${Y(p.cy + 0.5)}" r="${scale / 4}" fill="#f5c400"/>`);
  const names = Object.keys(paths);
  Object.entries(paths).forEach(([, ps], i) => {
    const c = COLORS[i % COLORS.length];
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${ps.map((p) => `${(p.x * scale).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of ps) {
      const tx = p.x + 0.25 * Math.cos(p.yaw), ty = p.y + 0.25 * Math.sin(p.yaw);
      parts.push(`<circle cx="${(p.x * scale).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="2.5" fill="${c}"/><line x1="${(p.x * scale).toFixed(1)}" y1="${Y(p.y).toFixed(1)}" x2="${(tx * scale).toFixed(1)}" y2="${Y(ty).toFixed(1)}" stroke="${c}" stroke-width="1.5"/>`);
    }
  });
  parts.push('</svg>');
  if (legend) names.forEach((name, i) => parts.push(`<rect x="${vw + 8}" y="${10 + i * 14}" width="10" height="3" fill="${COLORS[i % COLORS.length]}"/><text x="${vw + 22}" y="${14 + i * 14}">${esc(name)}</text>`));
  parts.push('</svg>');
  return parts.join('');
}
