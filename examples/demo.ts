/**
 * `npm run demo` — class-conditional emoji generation end to end, offline: RAE decoder on the frozen
 * MobileNetV2's multi-layer latent → latent statistics → DiT^DH with the base head → free-guidance
 * samples → outputs/demo/{samples_grid.png, reconstructions.png, metrics.json, report.html}.
 * `npm run demo -- --help` lists the flags (--quick, --budget <minutes>, --fresh, --out …).
 */
import { UsageError } from '@raev2/core';
import { DEMO_USAGE, parseDemoArgs, runDemo } from '@raev2/cli';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(DEMO_USAGE);
  process.exit(0);
}
try {
  const result = await runDemo(parseDemoArgs(argv));
  process.exit(result.interrupted ? 130 : 0);
} catch (e) {
  if (e instanceof UsageError) {
    console.error(`${e.message}\n\n${DEMO_USAGE}`);
    process.exit(2);
  }
  console.error(`demo: ${(e as Error).message}`);
  if (process.env.RAEV2_DEBUG) console.error((e as Error).stack);
  process.exit(1);
}
