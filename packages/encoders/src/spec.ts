/**
 * Encoder spec strings, as the RAEv2 authors name encoders: `family-arch-patch[options]`, e.g.
 * `dinov3-vit-l16[layers=11.13.15.17.19.21.23]`, `dinov3mls-vit-l16[layers=11.13.15.17.19.21.23]` (the
 * authors' own name for the same multi-layer encoder) or `mobilenetv2-nsfwjs[last3]`.
 *
 * Options inside `[...]`, comma-separated:
 *   layers=11.13.15 | layers=last4 | layers=all   (also bare `last4` / `all`) — which blocks feed the latent
 *   combine=mean|sum                               — how the normalised layers are combined (docs/method.md)
 *   global (or global=true|false)                  — add the token-mean of the deepest selected layer
 *   res=<px>                                       — input resolution (square)
 *   any other key=value                            — passed to the encoder's factory
 *
 * Layer order: a layer list names a set of 0-based blocks; the latent applies them in depth order
 * (ascending block index) whatever order they are written in, so `layers=23.11` = `layers=11.23` and
 * the global term always uses the deepest selected block. `lastK` = blocks L−K … L−1.
 *
 * Global term default (when the spec says neither `global` nor `global=false`): as the authors' encoders.
 * Their multi-layer DINOv3 and SigLIP-2 encoders add it, so a DINOv3 or SigLIP-2 spec that selects more
 * than one block adds it, and the `dinov3mls` / `siglip2mls` presets always do; a single layer (the
 * original RAE), DINOv2 (also `dinov2mls`), MAE, CLIP and the CNNs do not.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createEncoder, findEncoder, lastK, orderedLayers, validateSelection, type Encoder, type LayerSelection, type SpecOptions } from '@raev2/core';

/** Unresolved layer choice: explicit 0-based blocks, the last K blocks, or every block. */
export type LayerChoice = { kind: 'list'; layers: number[] } | { kind: 'last'; k: number } | { kind: 'all' };

export interface EncoderSpec {
  /** The whole spec string as given. */
  source: string;
  /** The part before `[`, e.g. `dinov3-vit-l16` (the registry key). */
  name: string;
  /** First dash-separated part, e.g. `dinov3`; `hf`/`onnx` for `hf:<folder>` / `onnx:<file>`. */
  family: string;
  /** Architecture, e.g. `vit-l` (empty when the name has no such part). */
  arch: string;
  /** Patch size read from the name (`l16` → 16), if any. */
  patch?: number;
  /** Options for the factory (everything except layers/combine/global). `res` stays here too. */
  options: SpecOptions;
  /** Input resolution from `res=<px>`. */
  res?: number;
  /** Layer choice, combine mode and global term; undefined fields mean "encoder default". */
  layers?: LayerChoice;
  combine?: 'mean' | 'sum';
  global?: boolean;
}

const SELECTION_KEYS = new Set(['layers', 'combine', 'global']);

function specError(source: string, what: string): Error {
  return new Error(`${what} in encoder spec '${source}'`);
}

/** Split `name[opts]` checking the brackets. */
function splitBrackets(source: string): { name: string; inner: string | null } {
  const open = source.indexOf('[');
  const close = source.lastIndexOf(']');
  if (open < 0 && close < 0) return { name: source, inner: null };
  if (open < 0) throw specError(source, `unbalanced ']' (no matching '[')`);
  if (close < 0) throw specError(source, `unbalanced '[' (missing ']')`);
  if (close !== source.length - 1) throw specError(source, `unexpected text '${source.slice(close + 1)}' after ']'`);
  const inner = source.slice(open + 1, close);
  if (inner.includes('[') || inner.includes(']')) throw specError(source, `nested or repeated brackets`);
  return { name: source.slice(0, open), inner };
}

function parseInteger(s: string, what: string, source: string): number {
  if (!/^\d+$/.test(s)) throw new Error(`${what} '${s}' in '${source}' is not an integer`);
  return Number(s);
}

/** `11.13.15` | `last4` | `all` → LayerChoice. */
function parseLayers(value: string, source: string): LayerChoice {
  if (value === 'all') return { kind: 'all' };
  const m = /^last(.*)$/.exec(value);
  if (m) {
    const k = parseInteger(m[1], 'last-K count', source);
    if (k < 1) throw new Error(`last-K count must be ≥ 1 in '${source}'`);
    return { kind: 'last', k };
  }
  if (value === '') throw new Error(`empty layer list in '${source}'`);
  const layers = value.split('.').map((s) => parseInteger(s, 'layer', source));
  const dup = layers.find((l, i) => layers.indexOf(l) !== i);
  if (dup !== undefined) throw new Error(`layer ${dup} is listed twice in '${source}'`);
  return { kind: 'list', layers };
}

function parseBool(value: string | true, key: string, source: string): boolean {
  if (value === true || value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new Error(`option ${key}='${value}' in '${source}' must be true or false`);
}

/** Split the base name into family / arch / patch (best effort: names are free-form beyond the first dash). */
function splitName(name: string): Pick<EncoderSpec, 'family' | 'arch' | 'patch'> {
  const colon = /^([a-z0-9]+):/i.exec(name);
  if (colon) return { family: colon[1].toLowerCase(), arch: '' };
  const parts = name.split('-');
  const family = parts[0];
  if (parts.length < 3) return { family, arch: parts.slice(1).join('-') };
  // `vit-l16`, `vit-b14reg`, `vit-so400m14`: trailing digits of the size token are the patch size.
  const m = /^([a-z]+\d*?[a-z]+)(\d+)([a-z]*)$/i.exec(parts[2]) ?? /^([a-z]+)(\d+)([a-z]*)$/i.exec(parts[2]);
  if (m) return { family, arch: `${parts[1]}-${m[1]}`, patch: Number(m[2]) };
  return { family, arch: `${parts[1]}-${parts[2]}` };
}

/** Parse `family-arch-patch[options]`; errors name the bad part and quote the spec. */
export function parseEncoderSpec(source: string): EncoderSpec {
  const text = source.trim();
  if (text === '') throw new Error('empty encoder spec');
  const { name, inner } = splitBrackets(text);
  if (name === '') throw specError(text, 'missing encoder name before [');
  const spec: EncoderSpec = { source: text, name, ...splitName(name), options: {} };
  if (inner == null || inner.trim() === '') return spec;
  for (const raw of inner.split(',')) {
    const item = raw.trim();
    if (item === '') throw specError(text, 'empty option (two commas or a trailing comma)');
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq).trim();
    const value: string | true = eq < 0 ? true : item.slice(eq + 1).trim();
    if (key === '') throw specError(text, `option '${item}' has no name`);
    if (key in spec.options || (SELECTION_KEYS.has(key) && spec[key as 'layers'] !== undefined)) throw specError(text, `option '${key}' given twice`);
    if (value === true) {
      // Bare words: selection shorthands and flags.
      if (key === 'all' || /^last\d/.test(key)) {
        if (spec.layers) throw specError(text, `option 'layers' given twice`);
        spec.layers = parseLayers(key, text);
      } else if (key === 'global') spec.global = true;
      else if (key === 'mean' || key === 'sum') {
        if (spec.combine) throw specError(text, `option 'combine' given twice`);
        spec.combine = key;
      } else throw specError(text, `unknown option '${key}' (expected layers=…, lastK, all, combine=mean|sum, global, res=<px> or key=value)`);
      continue;
    }
    if (key === 'layers') spec.layers = parseLayers(value, text);
    else if (key === 'combine') {
      if (value !== 'mean' && value !== 'sum') throw specError(text, `combine='${value}' must be mean or sum`);
      spec.combine = value;
    } else if (key === 'global') spec.global = parseBool(value, key, text);
    else {
      if (key === 'res') {
        spec.res = parseInteger(value, 'res', text);
        if (spec.res < 1) throw specError(text, 'res must be ≥ 1');
      }
      spec.options[key] = value;
    }
  }
  return spec;
}

/** When the global term is on by default: never, for selections of more than one block, or always. */
export type GlobalTermDefault = 'never' | 'multi-layer' | 'always';

/** The global-term default for a selection of `k` blocks. */
export function defaultGlobal(rule: GlobalTermDefault, k: number): boolean {
  return rule === 'always' || (rule === 'multi-layer' && k > 1);
}

/**
 * Spec → core LayerSelection for an encoder with `numLayers` blocks (`fallback` when the spec names no
 * layers; `globalTerm` the encoder's global-term default). Layers come back in the order applied (ascending).
 */
export function resolveSelection(spec: EncoderSpec, numLayers: number, fallback?: LayerSelection, globalTerm: GlobalTermDefault = 'never'): LayerSelection {
  const choice = spec.layers;
  let layers: number[];
  if (choice == null) layers = fallback?.layers ?? [numLayers - 1];
  else if (choice.kind === 'all') layers = Array.from({ length: numLayers }, (_, i) => i);
  else if (choice.kind === 'last') {
    if (choice.k > numLayers) throw new Error(`'${spec.source}': last${choice.k} asks for ${choice.k} layers but the encoder has ${numLayers} blocks`);
    layers = lastK(numLayers, choice.k);
  } else layers = choice.layers;
  const sel: LayerSelection = { layers, combine: spec.combine ?? fallback?.combine ?? 'mean', global: spec.global ?? fallback?.global ?? defaultGlobal(globalTerm, layers.length) };
  try {
    validateSelection(sel, numLayers);
  } catch (e) {
    throw new Error(`'${spec.source}': ${(e as Error).message}`);
  }
  return { ...sel, layers: orderedLayers(sel) };
}

/**
 * What an encoder may say about its latent by default: its own selection (e.g. the CNN stages: every
 * block of the stage; the multi-layer presets: the authors' default blocks) and its global-term rule.
 */
export interface EncoderDefaults {
  defaultSelection?: LayerSelection;
  globalTerm?: GlobalTermDefault;
}

/** The selection a spec asks for on a built encoder (validated against its depth). */
export function selectLayers(encoder: Encoder & EncoderDefaults, spec: EncoderSpec | string): LayerSelection {
  const s = typeof spec === 'string' ? parseEncoderSpec(spec) : spec;
  return resolveSelection(s, encoder.numLayers, encoder.defaultSelection, encoder.globalTerm);
}

/** Factory-side check: throw for options the factory does not understand (`res` is always allowed). */
export function checkOptions(name: string, options: SpecOptions, allowed: string[]): void {
  for (const key of Object.keys(options)) {
    if (key !== 'res' && !allowed.includes(key)) {
      const known = allowed.length ? allowed.join(', ') : 'none besides res';
      throw new Error(`encoder '${name}' has no option '${key}' (options: ${known})`);
    }
  }
}

/** Canonical text for a spec (stable: used in cache keys and saved configs). */
export function formatEncoderSpec(spec: EncoderSpec): string {
  const parts: string[] = [];
  if (spec.layers) {
    const l = spec.layers;
    parts.push(`layers=${l.kind === 'all' ? 'all' : l.kind === 'last' ? `last${l.k}` : l.layers.join('.')}`);
  }
  if (spec.combine) parts.push(`combine=${spec.combine}`);
  if (spec.global) parts.push('global');
  for (const [k, v] of Object.entries(spec.options).sort(([a], [b]) => a.localeCompare(b))) parts.push(v === true ? k : `${k}=${v}`);
  return parts.length ? `${spec.name}[${parts.join(',')}]` : spec.name;
}

/** An encoder built from a spec, with the layer selection the spec asks for. */
export interface LoadedEncoder {
  encoder: Encoder & EncoderDefaults;
  spec: EncoderSpec;
  selection: LayerSelection;
}

/** A folder with an ONNX export (model.onnx or onnx/model.onnx) and no safetensors weights. */
function isOnnxFolder(dir: string): boolean {
  const has = (f: string) => fs.existsSync(path.join(dir, f));
  return fs.statSync(dir).isDirectory() && (has('model.onnx') || has('onnx/model.onnx')) && !has('model.safetensors') && !has('model.safetensors.index.json');
}

/** `spec` with `res=<px>` added when it sets none and `px` is given (e.g. an encoder at a run's image size). */
export function withResolution(spec: string, px?: number): string {
  if (px == null) return spec;
  const s = parseEncoderSpec(spec);
  if (s.res != null) return spec;
  s.options.res = String(px);
  return formatEncoderSpec(s);
}

/**
 * Registry name for a spec's base name: registered names first; otherwise an existing path becomes
 * `onnx:` (a .onnx file, or a folder holding only an ONNX export) or `hf:` (a model folder), and
 * `owner/name` a Hub id (`hf:`).
 */
export function registryName(name: string): string {
  const found = findEncoder(name);
  // `hf*` / `onnx*` only stand for the `hf:` / `onnx:` forms, not for any name starting with those letters.
  const scheme = found?.name === 'hf*' ? 'hf:' : found?.name === 'onnx*' ? 'onnx:' : '';
  if (found && name.startsWith(scheme)) return name;
  if (fs.existsSync(name)) return name.endsWith('.onnx') || isOnnxFolder(name) ? `onnx:${name}` : `hf:${name}`;
  if (/^[\w.-]+\/[\w.-]+$/.test(name)) return `hf:${name}`;
  return name;
}

/** Build the encoder a spec (or a model folder / hub id, with optional [options]) names, and its layer selection. */
export async function loadEncoder(specText: string): Promise<LoadedEncoder> {
  const spec = parseEncoderSpec(specText);
  const encoder = (await createEncoder(registryName(spec.name), spec.options)) as Encoder & EncoderDefaults;
  try {
    return { encoder, spec, selection: selectLayers(encoder, spec) };
  } catch (e) {
    encoder.dispose();
    throw e;
  }
}
