/** The list of `raev2` subcommands; each lives in its own file and is registered here (append-only). */
import type { Command } from './command.js';

const registered: Command[] = [];

/** Add a subcommand (packages other than core call this when imported, e.g. `features`). */
export function registerCommand(c: Command): void {
  const i = registered.findIndex((r) => r.name === c.name);
  if (i >= 0) registered[i] = c;
  else registered.push(c);
}

export function commands(): Command[] {
  return [...registered];
}
