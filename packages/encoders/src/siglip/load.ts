/**
 * Build SigLIP / SigLIP-2 towers from an HF model folder. A combined `siglip`/`siglip2` checkpoint
 * holds both towers plus `logit_scale`/`logit_bias`; each tower reads only its own
 * `vision_model.*` / `text_model.*` keys (strict: every missing or mis-shaped tensor is named).
 */
import * as path from 'node:path';
import type { Module } from '@raev2/core';
import { openModelFolder, type HFFolder } from '../hf/folder.js';
import { loadWeights } from '../hf/weights.js';
import { parseSiglipTextConfig, parseSiglipVisionConfig, parseSiglip2VisionConfig } from './config.js';
import { SiglipVisionModel } from './vision.js';
import { SiglipTextModel } from './text.js';
import { Siglip2VisionModel } from '../siglip2/vision.js';

// what the other parts of a combined checkpoint hold (and the old non-persistent position_ids buffers)
const NOT_VISION = [/^text_model\./, /^logit_(scale|bias)$/, /position_ids$/];
const NOT_TEXT = [/^vision_model\./, /^logit_(scale|bias)$/, /position_ids$/];

function load<M extends Module>(model: M, folder: HFFolder, ignore: RegExp[], className: string): M {
  try {
    loadWeights(model, folder.weightsFile, className, { ignore });
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model.eval();
}

const configSource = (f: HFFolder) => path.join(f.dir, 'config.json');

/** SigLIP vision tower of a folder (stand-alone `siglip_vision_model` or combined `siglip`). */
export function siglipVisionFromFolder(folder: HFFolder): SiglipVisionModel {
  return load(new SiglipVisionModel(parseSiglipVisionConfig(folder.config, configSource(folder))), folder, NOT_VISION, 'SiglipVisionModel');
}

/** SigLIP-2 NaFlex vision tower of a folder (`siglip2_vision_model` or combined `siglip2`). */
export function siglip2VisionFromFolder(folder: HFFolder): Siglip2VisionModel {
  return load(new Siglip2VisionModel(parseSiglip2VisionConfig(folder.config, configSource(folder))), folder, NOT_VISION, 'Siglip2VisionModel');
}

/** SigLIP / SigLIP-2 text tower of a folder (stand-alone text model or combined checkpoint). */
export function siglipTextFromFolder(folder: HFFolder): SiglipTextModel {
  return load(new SiglipTextModel(parseSiglipTextConfig(folder.config, configSource(folder))), folder, NOT_TEXT, 'SiglipTextModel');
}

/** Local folder → SigLIP vision tower (for Hub ids use `loadHFModel` / `loadHFEncoder`). */
export const loadSiglipVisionModel = (dir: string): SiglipVisionModel => siglipVisionFromFolder(openModelFolder(path.resolve(dir)));
/** Local folder → SigLIP-2 NaFlex vision tower. */
export const loadSiglip2VisionModel = (dir: string): Siglip2VisionModel => siglip2VisionFromFolder(openModelFolder(path.resolve(dir)));
/** Local folder → SigLIP / SigLIP-2 text tower. */
export const loadSiglipTextModel = (dir: string): SiglipTextModel => siglipTextFromFolder(openModelFolder(path.resolve(dir)));
