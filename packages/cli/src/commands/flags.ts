/**
 * Flags → config: one table per command maps each `--flag` to a config path and a kind; values are
 * converted here and validated by the command's zod config schema, whose errors then name the flag.
 */
import { UsageError } from '@raev2/core';

/** How a flag's text becomes a config value. `number|none`: a number, or `none` → the entry's `none` value (default null). */
export type FlagKind = 'string' | 'number' | 'switch' | 'list' | 'pair' | 'number|none';

/** One flag: where it goes in the config and how its text is read. */
export interface FlagSpec {
  to: string[];
  kind: FlagKind;
  /** Value of `none` for `number|none` flags (default null). */
  none?: unknown;
}

/** parseArgs options for string flags. */
export const stringFlags = (names: string[]) => Object.fromEntries(names.map((n) => [n, { type: 'string' as const }]));

/** Flags → a partial config (values converted; unparsable ones stay strings so zod names the field). */
export function flagsToConfig(values: Record<string, string | boolean | undefined>, table: Record<string, FlagSpec>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const num = (s: string) => (s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s);
  for (const [flag, spec] of Object.entries(table)) {
    const v = values[flag];
    if (v === undefined || typeof v === 'boolean') continue;
    let value: unknown = v;
    if (spec.kind === 'number') value = num(v);
    else if (spec.kind === 'number|none') value = v === 'none' ? (spec.none ?? null) : num(v);
    else if (spec.kind === 'list') value = v.split(',').map((s) => s.trim()).filter(Boolean);
    else if (spec.kind === 'pair') value = v.split(',').map((s) => num(s));
    else if (spec.kind === 'switch') {
      if (!['on', 'off', 'true', 'false'].includes(v)) throw new UsageError(`--${flag} ${v}: expected on or off`);
      value = v === 'on' || v === 'true';
    }
    let o = out;
    for (const k of spec.to.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
    o[spec.to[spec.to.length - 1]] = value;
  }
  return out;
}

/** `auto` → true (latest checkpoint), `no` → false, else a checkpoint directory that must exist. */
export function parseResume(r: string | undefined, exists: (p: string) => boolean): boolean | string {
  const v = r ?? 'auto';
  const resume = v === 'auto' ? true : v === 'no' ? false : v;
  if (typeof resume === 'string' && !exists(resume)) throw new UsageError(`--resume ${resume}: no such checkpoint directory`);
  return resume;
}
