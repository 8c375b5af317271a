#!/usr/bin/env node
// The `raev2` command: runs packages/cli/src/main.ts from source (TypeScript through tsx, the
// workspace packages through their `@raev2/source` export condition) in a child node process.
// Signals are forwarded so an interrupted command can finish its checkpoint, and its exit code
// (0 done, 1 error, 2 usage, 130 interrupted) is this process's exit code. The npm scripts start this
// file with `exec`, so `npm run raev2` signals it directly (not a shell that would die at once) and npm
// waits for the checkpoint before it exits.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const child = spawn(process.execPath, ['--conditions=@raev2/source', '--import', 'tsx', main, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  // a terminal's Ctrl-C reaches the child too (same process group): forward only what it would miss
  process.on(sig, () => {
    if (sig !== 'SIGINT' || !process.stdin.isTTY) child.kill(sig);
  });
}
child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 1)));
