/**
 * The `raev2` entry point (bin/raev2.mjs runs it): finds the command named by the first words of
 * argv in `commands.ts`, shows its usage on --help, runs it and maps the outcome to an exit code.
 */
import { InterruptedError, UsageError } from '@raev2/core';
import '@raev2/encoders'; // the built-in encoders and their registry entries
import { commands } from './commands.js';

function help(): string {
  const w = Math.max(...commands().map((c) => c.name.length));
  return ['usage: raev2 <command> [flags]', '', ...commands().map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`), '', 'raev2 <command> --help shows its flags.'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
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
    // a command that was interrupted sets process.exitCode = 130 (its checkpoint is saved)
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof InterruptedError) {
      console.error(e.message);
      return 130;
    }
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
