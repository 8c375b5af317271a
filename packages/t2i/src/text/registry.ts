/**
 * The text-encoder registry, like the vision side's: text towers plug in by name and are named by
 * spec strings `name[options]`. Built in: `hf:<folder or hub id>` (any SigLIP / SigLIP-2 text
 * checkpoint in HF format), the Google SigLIP / SigLIP-2 hub names (`siglip2-base-patch16-256` →
 * `google/siglip2-base-patch16-256`), and a bare path to a model folder. Option `mask` passes the
 * padding mask into the tower's attention (off by default: SigLIP was trained attending to pads).
 */
import * as fs from 'node:fs';
import type { SpecOptions } from '@raev2/core';
import type { TextEncoder } from '@raev2/encoders';
import { loadCheckedSiglipTextEncoder } from './load.js';

/** Builds a text encoder from a base name and the spec's `[...]` options. */
export type TextEncoderFactory = (name: string, options: SpecOptions) => Promise<TextEncoder>;

interface Registered {
  name: string;
  description: string;
  factory: TextEncoderFactory;
}

const registry = new Map<string, Registered>();

/** Register a text-encoder factory under a name or a `prefix*` pattern (re-registering replaces it). */
export function registerTextEncoder(name: string, factory: TextEncoderFactory, description = ''): void {
  if (!/^[a-z0-9][a-z0-9._:-]*\*?$/i.test(name)) throw new Error(`text encoder name "${name}" must be letters, digits, '.', '_', ':' or '-' (optionally ending in '*')`);
  registry.set(name, { name, description, factory });
}

/** Everything registered, sorted by name. */
export function listTextEncoders(): { name: string; description: string }[] {
  return [...registry.values()].map(({ name, description }) => ({ name, description })).sort((a, b) => a.name.localeCompare(b.name));
}

/** Split `name[a,b=c]` into the name and its options; errors quote the spec. */
export function parseTextEncoderSpec(spec: string): { name: string; options: SpecOptions } {
  const m = /^([^[\]]+)(?:\[([^[\]]*)\])?$/.exec(spec.trim());
  if (m == null) throw new Error(`text encoder spec "${spec}": expected name or name[option,key=value]`);
  const options: SpecOptions = {};
  for (const item of (m[2] ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const [k, ...v] = item.split('=');
    if (k in options) throw new Error(`text encoder spec "${spec}": option '${k}' given twice`);
    options[k] = v.length ? v.join('=') : true;
  }
  return { name: m[1].trim(), options };
}

function find(name: string): Registered | undefined {
  const exact = registry.get(name);
  if (exact) return exact;
  let best: Registered | undefined;
  for (const r of registry.values()) if (r.name.endsWith('*') && name.startsWith(r.name.slice(0, -1)) && (!best || r.name.length > best.name.length)) best = r;
  return best;
}

/** Build the text encoder a spec names (a registered name, `hf:<folder|hub id>`, or a model folder path). */
export async function loadTextEncoder(spec: string): Promise<TextEncoder> {
  const { name, options } = parseTextEncoderSpec(spec);
  const r = find(name) ?? (fs.existsSync(name) ? find('hf:*') : undefined);
  if (r == null) throw new Error(`unknown text encoder "${name}"; registered: ${listTextEncoders().map((e) => e.name).join(', ')} (or a model folder path)`);
  return r.factory(r.name === 'hf:*' && !name.startsWith('hf:') ? `hf:${name}` : name, options);
}

function checkOptions(name: string, options: SpecOptions): { maskPadding: boolean } {
  for (const k of Object.keys(options)) if (k !== 'mask') throw new Error(`text encoder ${name}: unknown option '${k}' (known: mask)`);
  return { maskPadding: options.mask === true || options.mask === 'true' };
}

registerTextEncoder('hf:*', (name, options) => loadCheckedSiglipTextEncoder(name.slice(3), checkOptions(name, options)), 'a SigLIP / SigLIP-2 text tower in an HF folder or on the Hub');
for (const g of ['siglip-', 'siglip2-']) {
  registerTextEncoder(`${g}*`, (name, options) => loadCheckedSiglipTextEncoder(`google/${name}`, checkOptions(name, options)), `Google ${g.slice(0, -1)} checkpoints on the Hub (google/<name>)`);
}
