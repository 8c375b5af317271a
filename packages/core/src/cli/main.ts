#!/usr/bin/env node
/**
 * The `raev2` command. Subcommands live in their own files and are listed in `commands.ts`.
 * The built-in encoders register themselves when @raev2/encoders is importable.
 */
import { commands } from './commands.js';
import { UsageError } from './command.js';

async function loadPlugins(): Promise<void> {
  const optional = ['@raev2/encoders', '@raev2/t2i', '@raev2/navworld'];
  for (const name of optional) {
    try {
      await import(name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    }
  }
}

function help(): string {
  const w = Math.max(...commands().map((c) => c.name.length));
  return ['usage: raev2 <command> [flags]', '', ...commands().map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`), '', 'raev2 <command> --help shows its flags.'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  await loadPlugins();
  const all = commands().sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  const cmd = all.find((c) => c.name.split(' ').every((part, i) => argv[i] === part));
  if (cmd == null) {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
      console.log(help());
      return 0;
    }
    console.error(`unknown command "${argv.join(' ')}"\n\n${help()}`);
    return 2;
  }
  const rest = argv.slice(cmd.name.split(' ').length);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.usage);
    return 0;
  }
  try {
    await cmd.run(rest);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${e.message}\n\n${cmd.usage}`);
      return 2;
    }
    console.error(`raev2 ${cmd.name}: ${(e as Error).message}`);
    if (process.env.RAEV2_DEBUG) console.error((e as Error).stack);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
