/** Build a DiT^DH from a config, and load upstream-format checkpoints. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadSafetensors } from '../io/safetensors.js';
import { type DiTConfig, type DiTConfigInput, ditConfigFromUpstream, parseDiTConfig } from './config.js';
import type { DiTModel } from './model.js';
import { RAEDiT } from './rae.js';
import { RAEv2DiT } from './raev2.js';

/** A fresh model (validated config; `seed` drives initialisation). */
export function createDiT(config: DiTConfig | DiTConfigInput, seed = 0): DiTModel {
  const c = parseDiTConfig(config);
  return c.arch === 'raev2' ? new RAEv2DiT(c, seed) : new RAEDiT(c, seed);
}

/**
 * Load a model folder holding `config.json` (our config, or upstream `{class, params}`) and
 * `model.safetensors` with upstream state-dict keys. Strict: every key must match.
 */
export function loadDiT(dir: string): DiTModel {
  const cfgFile = path.join(dir, 'config.json');
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read DiT config ${cfgFile}: ${(e as Error).message}`);
  }
  const isUpstream = typeof json === 'object' && json != null && 'class' in json && 'params' in json;
  const config = isUpstream ? ditConfigFromUpstream(json, cfgFile) : parseDiTConfig(json, cfgFile);
  const model = createDiT(config);
  const weights = path.join(dir, 'model.safetensors');
  const sd = loadSafetensors(weights);
  try {
    model.loadStateDict(sd, { source: weights });
  } finally {
    for (const t of sd.values()) t.dispose();
  }
  return model.eval();
}
