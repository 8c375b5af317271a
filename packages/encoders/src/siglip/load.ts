/**
 * Build SigLIP / SigLIP-2 towers from a parsed `config.json` and a state dict (HF key names). A
 * combined `siglip`/`siglip2` checkpoint holds both towers plus `logit_scale`/`logit_bias`; each
 * tower takes only its own `vision_model.*` / `text_model.*` keys.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Tensor, loadSafetensors, loadSharded, readJsonFile } from '@raev2/core';
import { z } from 'zod';
import { parseSiglipTextConfig, parseSiglipVisionConfig, parseSiglip2VisionConfig } from './config.js';
import { SiglipVisionModel } from './vision.js';
import { SiglipTextModel } from './text.js';
import { Siglip2VisionModel } from '../siglip2/vision.js';

/** Load `prefix.*` tensors of a weights map into a module (strict: names every missing / unexpected / mis-shaped key). */
function loadTower<M extends { loadStateDict: SiglipVisionModel['loadStateDict'] }>(model: M, weights: Map<string, Tensor>, prefix: string, source: string): M {
  const own = new Map([...weights].filter(([k]) => k.startsWith(prefix)));
  if (own.size === 0) throw new Error(`${source} has no "${prefix}*" tensors (found e.g. ${[...weights.keys()].slice(0, 3).join(', ') || 'nothing'})`);
  model.loadStateDict(own, { strict: true, source });
  return model;
}

/** Where a config and its weights came from, for error messages. */
export interface Sources {
  config: string;
  weights: string;
}
const DEFAULT_SOURCES: Sources = { config: 'config.json', weights: 'weights' };

/** SigLIP vision tower from config JSON + weights. */
export function siglipVisionFromWeights(configJson: unknown, weights: Map<string, Tensor>, src: Sources = DEFAULT_SOURCES): SiglipVisionModel {
  const model = new SiglipVisionModel(parseSiglipVisionConfig(configJson, src.config));
  return disposeOnError(model, () => loadTower(model, weights, 'vision_model.', src.weights));
}

/** SigLIP-2 NaFlex vision tower from config JSON + weights. */
export function siglip2VisionFromWeights(configJson: unknown, weights: Map<string, Tensor>, src: Sources = DEFAULT_SOURCES): Siglip2VisionModel {
  const model = new Siglip2VisionModel(parseSiglip2VisionConfig(configJson, src.config));
  return disposeOnError(model, () => loadTower(model, weights, 'vision_model.', src.weights));
}

/** SigLIP / SigLIP-2 text tower from config JSON + weights. */
export function siglipTextFromWeights(configJson: unknown, weights: Map<string, Tensor>, src: Sources = DEFAULT_SOURCES): SiglipTextModel {
  const model = new SiglipTextModel(parseSiglipTextConfig(configJson, src.config));
  return disposeOnError(model, () => loadTower(model, weights, 'text_model.', src.weights));
}

function disposeOnError<M extends { dispose(): void }>(model: M, load: () => M): M {
  try {
    return load();
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** config.json and the weights (single file or sharded index) of a local HF model folder. */
export function readHFFolder(folder: string, filter?: (key: string) => boolean): { config: unknown; weights: Map<string, Tensor>; sources: Sources } {
  const configFile = path.join(folder, 'config.json');
  if (!fs.existsSync(configFile)) throw new Error(`${folder} is not a model folder: config.json not found`);
  const config = readJsonFile(z.record(z.string(), z.unknown()), configFile);
  const single = path.join(folder, 'model.safetensors');
  const index = path.join(folder, 'model.safetensors.index.json');
  if (fs.existsSync(single)) return { config, weights: loadSafetensors(single, filter), sources: { config: configFile, weights: single } };
  if (fs.existsSync(index)) return { config, weights: loadSharded(index, filter), sources: { config: configFile, weights: index } };
  throw new Error(`${folder} has no weights: expected model.safetensors or model.safetensors.index.json`);
}

/** Read a folder, build a tower, and release the raw tensors. */
export function loadFromFolder<M>(folder: string, prefix: string, build: (config: unknown, w: Map<string, Tensor>, src: Sources) => M): M {
  const { config, weights, sources } = readHFFolder(folder, (k) => k.startsWith(prefix));
  try {
    return build(config, weights, sources);
  } finally {
    for (const t of weights.values()) t.dispose();
  }
}

export const loadSiglipVisionModel = (folder: string): SiglipVisionModel => loadFromFolder(folder, 'vision_model.', siglipVisionFromWeights);
export const loadSiglip2VisionModel = (folder: string): Siglip2VisionModel => loadFromFolder(folder, 'vision_model.', siglip2VisionFromWeights);
export const loadSiglipTextModel = (folder: string): SiglipTextModel => loadFromFolder(folder, 'text_model.', siglipTextFromWeights);
