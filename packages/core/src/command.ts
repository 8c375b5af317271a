/**
 * CLI plumbing: each subcommand is a small module exporting a `Command`; flags are parsed with
 * node:util parseArgs and validated with zod so errors name the flag.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { formatIssues } from './util/config.js';

export interface Command {
  /** e.g. `features`, `stage1 train` */
  name: string;
  summary: string;
  /** Usage text shown for --help and on errors. */
  usage: string;
  run(argv: string[]): Promise<void>;
}

/** Error type whose message is shown to the user without a stack trace. */
export class UsageError extends Error {}

/** A run stopped by a signal after saving its checkpoint: the command exits 130 with this message. */
export class InterruptedError extends Error {}

/** Parse `argv` against parseArgs options, then validate the values with `schema` (errors name the flag). */
export function parseFlags<S extends z.ZodType>(argv: string[], options: NonNullable<ParseArgsConfig['options']>, schema: S, command: string): z.infer<S> {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`${command}: ${(e as Error).message}`);
  }
  const r = schema.safeParse(values);
  if (!r.success) throw new UsageError(formatIssues(r.error, `flags for \`raev2 ${command}\``).replace(/^ {2}(\w[\w-]*)/gm, '  --$1'));
  return r.data;
}

/** Usage line of `--stop-at`, shared by the training commands. */
export const STOP_AT_USAGE = '  --stop-at <step>   stop after this step and checkpoint; the schedule still spans --steps, so the same command without it continues';

/** `--stop-at <step>` → the step (a positive integer), or undefined when absent. */
export function parseStopAt(value: string | undefined, command: string): number | undefined {
  if (value == null) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${command}: --stop-at ${value}: must be a positive integer step`);
  return n;
}

/**
 * How a training command ends when the loop returned before its last step (the loop has said where
 * and why): at `--stop-at` it exits 0; after a signal it exits 130 (the same command resumes).
 */
export function reportEarlyStop(r: { step: number; totalSteps: number }, stopAt: number | undefined): void {
  if (stopAt != null && r.step >= stopAt) return;
  process.stderr.write(`stopped at step ${r.step}/${r.totalSteps}; run the same command again to resume\n`);
  process.exitCode = 130;
}
