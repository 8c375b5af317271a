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
