/**
 * Progress display for long work: step/total, rate, ETA and named values (loss …).
 * Draws on a TTY in place; elsewhere prints a line at most every `logEverySec` seconds.
 */
export interface ProgressOptions {
  label: string;
  total: number;
  /** Units of `rate` (default 'it'). */
  unit?: string;
  stream?: NodeJS.WriteStream;
  logEverySec?: number;
  /** Set false to silence (tests). Default: on unless RAEV2_QUIET=1. */
  enabled?: boolean;
  /** Units already done before this process started (a resumed run), so rate and ETA count from there. */
  start?: number;
}

export interface Progress {
  /** Advance to `done` (absolute), with optional values to show. */
  update(done: number, values?: Record<string, number | string>): void;
  /** Print the final line. */
  finish(values?: Record<string, number | string>): void;
}

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

function fmt(v: number | string): string {
  if (typeof v === 'string') return v;
  return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4);
}

export function progress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const enabled = opts.enabled ?? process.env.RAEV2_QUIET !== '1';
  const tty = Boolean(stream.isTTY);
  const every = (opts.logEverySec ?? 10) * 1000;
  const start = Date.now();
  let startDone = opts.start ?? -1;
  let last = 0;
  let lastDone = opts.start ?? 0;
  const line = (done: number, values?: Record<string, number | string>) => {
    const el = (Date.now() - start) / 1000;
    const doneSinceStart = done - Math.max(0, startDone);
    const rate = el > 0 ? doneSinceStart / el : 0;
    const eta = rate > 0 ? (opts.total - done) / rate : Infinity;
    const pct = opts.total > 0 ? ((100 * done) / opts.total).toFixed(1) : '?';
    const vals = values ? Object.entries(values).map(([k, v]) => `${k} ${fmt(v)}`).join(' ') : '';
    return `${opts.label} ${done}/${opts.total} (${pct}%) ${rate.toFixed(2)} ${opts.unit ?? 'it'}/s elapsed ${formatDuration(el)} ETA ${formatDuration(eta)}${vals ? ' | ' + vals : ''}`;
  };
  return {
    update(done, values) {
      if (startDone < 0) startDone = lastDone;
      lastDone = done;
      if (!enabled) return;
      const now = Date.now();
      if (tty) {
        if (now - last < 100 && done < opts.total) return;
        stream.write(`\r\x1b[2K${line(done, values)}`);
      } else if (now - last >= every || done >= opts.total) {
        stream.write(line(done, values) + '\n');
      } else return;
      last = now;
    },
    finish(values) {
      if (!enabled) return;
      stream.write((tty ? `\r\x1b[2K` : '') + line(lastDone, values) + '\n');
    },
  };
}
