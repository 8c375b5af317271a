/**
 * The encoder registry: encoders plug in by name, like providers in a registry. Spec strings
 * look like `family-arch-patch[options]` (e.g. `dinov2-vit-b14reg[layers=last4]`); the part
 * before `[` selects the factory, the options are passed to it.
 */
import type { Encoder } from './encoder.js';

/** Options parsed from the `[...]` part of a spec string (key=value or bare flags). */
export type SpecOptions = Record<string, string | true>;

/** Creates an encoder; `options` are the parsed `[...]` options of the spec, `name` the base name. */
export type EncoderFactory = (name: string, options: SpecOptions) => Promise<Encoder>;

export interface RegisteredEncoder {
  /** Exact name, or a prefix pattern ending in `*` (e.g. `dinov2-*`). */
  name: string;
  description: string;
  factory: EncoderFactory;
}

const registry = new Map<string, RegisteredEncoder>();

/** Register an encoder factory under a name (or a `prefix*` pattern). Re-registering replaces it. */
export function registerEncoder(name: string, factory: EncoderFactory, description = ''): void {
  if (!/^[a-z0-9][a-z0-9._-]*\*?$/i.test(name)) throw new Error(`encoder name "${name}" must be letters, digits, '.', '_' or '-' (optionally ending in '*')`);
  registry.set(name, { name, description, factory });
}

/** Everything registered, sorted by name. */
export function listEncoders(): RegisteredEncoder[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Find the factory for a base name: exact match first, then the longest matching `prefix*`. */
export function findEncoder(baseName: string): RegisteredEncoder | undefined {
  const exact = registry.get(baseName);
  if (exact) return exact;
  let best: RegisteredEncoder | undefined;
  for (const e of registry.values()) {
    if (e.name.endsWith('*') && baseName.startsWith(e.name.slice(0, -1)) && (!best || e.name.length > best.name.length)) best = e;
  }
  return best;
}

/** Build an encoder from a base name and options; the error lists what is registered. */
export async function createEncoder(baseName: string, options: SpecOptions = {}): Promise<Encoder> {
  const e = findEncoder(baseName);
  if (e == null) {
    const names = listEncoders().map((r) => r.name);
    throw new Error(`unknown encoder "${baseName}"; registered: ${names.length ? names.join(', ') : '(none — import @raev2/encoders to register the built-in ones)'}`);
  }
  return e.factory(baseName, options);
}
