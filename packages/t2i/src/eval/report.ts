/** The evaluation as a Markdown report: probes with their ceilings, then one table per prompt set. */
import type { EvalResult } from './evaluate.js';

const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)} %` : '—');

export function formatReport(r: EvalResult & { config: { perPrompt: number; seed: number }; steps: Record<string, number> }): string {
  const lines: string[] = ['# T2I evaluation', ''];
  lines.push(`Seed ${r.config.seed}, ${r.config.perPrompt} samples per prompt. Training steps: ${Object.entries(r.steps).map(([k, v]) => `${k} ${v}`).join('; ')}.`, '');
  lines.push('## Attribute probes (linear, on real latents of the training images)', '', '| attribute | classes | train accuracy | ceiling: real held-out-combination images |', '|---|---|---|---|');
  for (const p of r.probes) lines.push(`| ${p.attribute} | ${p.classes} | ${pct(p.trainAccuracy)} | ${pct(p.ceilingHeldOut)} |`);
  lines.push('', `FD (latent, token mean) of the real held-out-combination images vs the training images: ${r.fdLatentRealHeldOut.toFixed(3)}.`, '');
  const attrs = [...new Set(r.rows.flatMap((row) => Object.keys(row.attributes)))];
  for (const set of ['seen', 'held-out', 'paraphrase']) {
    const rows = r.rows.filter((x) => x.set === set);
    if (rows.length === 0) continue;
    lines.push(`## ${set} prompts (${rows[0].samples} samples)`, '');
    lines.push(`| model | guidance | steps | NFE/image | mean attribute acc. | ${attrs.join(' | ')} | retrieval top-1 (chance) | FD latent |`);
    lines.push(`|---|---|---|---|---|${attrs.map(() => '---|').join('')}---|---|`);
    for (const x of rows) {
      lines.push(`| ${x.model} | ${x.guidance} | ${x.steps} | ${x.nfePerImage} | ${pct(x.attributeMean)} | ${attrs.map((a) => pct(x.attributes[a] ?? NaN)).join(' | ')} | ${pct(x.retrievalTop1)} (${pct(x.retrievalChance)}) | ${x.fdLatent.toFixed(3)} |`);
    }
    lines.push('');
  }
  if (r.pixels?.length) {
    const tests = [...new Set(r.pixels.flatMap((x) => Object.keys(x.tests)))];
    lines.push('## Attributes in pixels (nearest real sibling image in RGB, over 8×8-pixel box averages)', '');
    lines.push('Each decoded sample against the real images of the captions that differ from its own in one attribute only; right when the nearest is its own. The decoder on the true latent is the ceiling.', '');
    lines.push(`| set | model | guidance | samples | ${tests.map((t) => `${t} (chance)`).join(' | ')} |`, `|---|---|---|---|${tests.map(() => '---|').join('')}`);
    for (const x of r.pixels) {
      lines.push(`| ${x.set} | ${x.model} | ${x.guidance} | ${x.samples} | ${tests.map((t) => (x.tests[t] ? `${pct(x.tests[t].accuracy)} (${pct(x.tests[t].chance)})` : '—')).join(' | ')} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
