/**
 * Small self-contained SVG line plots for the demo report (no scripts, no external fonts): axes
 * with "nice" ticks, one polyline (+ point markers) per series, a legend. Non-finite points are
 * dropped; a log y-axis is available for losses.
 */

export interface Series {
  name: string;
  /** [x, y] pairs, in x order. */
  points: [number, number][];
  color?: string;
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  logY?: boolean;
  /** Draw a marker at every point (short series). */
  markers?: boolean;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
/** Plot-area margins: left, right, top, bottom. */
export const PLOT_MARGIN = { left: 64, right: 16, top: 30, bottom: 44 } as const;

/** Evenly spaced "nice" tick values (1, 2, 2.5, 5 × 10^k) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** Short tick label. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Data range with a little padding (a flat series gets a unit range). */
function extent(values: number[]): [number, number] {
  let lo = Math.min(...values), hi = Math.max(...values);
  if (!(hi > lo)) {
    lo -= lo === 0 ? 1 : Math.abs(lo) * 0.5;
    hi += hi === 0 ? 1 : Math.abs(hi) * 0.5;
  }
  return [lo, hi];
}

/** An SVG line plot of `series` (a complete `<svg>` element). */
export function linePlot(series: Series[], o: PlotOptions): string {
  const W = o.width ?? 520, H = o.height ?? 300, m = PLOT_MARGIN;
  const pw = W - m.left - m.right, ph = H - m.top - m.bottom;
  const clean = series.map((s) => ({ ...s, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logY || y > 0)) }));
  const all = clean.flatMap((s) => s.points);
  const head = `<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(o.title)}">`;
  const title = `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(o.title)}</text>`;
  if (all.length === 0) return `${head}${title}<text x="${W / 2}" y="${H / 2}" text-anchor="middle" font-size="12" fill="#777">no data</text></svg>`;
  const ty = (y: number) => (o.logY ? Math.log10(y) : y);
  const [x0, x1] = extent(all.map((p) => p[0]));
  const [y0, y1] = extent(all.map((p) => ty(p[1])));
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.top + ph - ((ty(y) - y0) / (y1 - y0)) * ph;
  const parts: string[] = [head, `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="#fff" stroke="#999"/>`, title];
  for (const v of niceTicks(x0, x1)) {
    const x = sx(v).toFixed(1);
    parts.push(`<line x1="${x}" y1="${m.top + ph}" x2="${x}" y2="${m.top + ph + 4}" stroke="#666"/><text x="${x}" y="${m.top + ph + 16}" text-anchor="middle" font-size="11">${formatTick(v)}</text>`);
  }
  const yTicks = o.logY ? niceTicks(Math.floor(y0), Math.ceil(y1), 4).filter((e) => Number.isInteger(e) && e >= y0 - 1e-9 && e <= y1 + 1e-9).map((e) => 10 ** e) : niceTicks(y0, y1);
  for (const v of yTicks) {
    const y = sy(v).toFixed(1);
    parts.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#eee"/><text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${formatTick(v)}</text>`);
  }
  parts.push(`<text x="${m.left + pw / 2}" y="${H - 6}" text-anchor="middle" font-size="12">${escapeXml(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(o.yLabel)}${o.logY ? ' (log)' : ''}</text>`);
  clean.forEach((s, i) => {
    if (s.points.length === 0) return;
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const pts = s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    parts.push(`<polyline class="series" data-name="${escapeXml(s.name)}" fill="none" stroke="${color}" stroke-width="1.8" points="${pts}"/>`);
    if (o.markers || s.points.length === 1) for (const [x, y] of s.points) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = m.top + 12 + i * 15;
    parts.push(`<line x1="${m.left + pw - 120}" y1="${ly}" x2="${m.left + pw - 100}" y2="${ly}" stroke="${color}" stroke-width="2"/><text x="${m.left + pw - 95}" y="${ly}" dominant-baseline="middle" font-size="11">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
