/**
 * Load an HF model folder or Hub id: resolve it, read config.json, dispatch on `model_type` to the
 * family builder (families.ts) and, for image encoders, wrap the tower in core's `Encoder`.
 */
import * as path from 'node:path';
import { families } from './families.js';
import { loadModelFolder, type HFFolder } from './folder.js';
import type { BuiltModel, HFModel, LoadHFOptions } from './build.js';
import type { HFVisionModel } from '../vit/model.js';
import { ViTEncoder, type ViTEncoderOptions } from '../vit/encoder.js';
import { parseImageProcessor } from '../preprocess/processor.js';

export interface LoadedHFModel extends BuiltModel {
  folder: HFFolder;
}

/** Any family: the built model (weights loaded, eval mode) with its folder. */
export async function loadHFModel(folderOrId: string, opts: LoadHFOptions = {}): Promise<LoadedHFModel> {
  const folder = await loadModelFolder(folderOrId, opts);
  const type = String(folder.config.model_type);
  const build = families[type];
  if (build == null) {
    throw new Error(`${folder.id}: model_type "${type}" is not supported (supported: ${Object.keys(families).sort().join(', ')})`);
  }
  return { ...build({ folder, options: opts }), folder };
}

/** Whether a model is a vision tower usable as an encoder. */
export function isVisionModel(m: HFModel): m is HFModel & HFVisionModel {
  const v = m as Partial<HFVisionModel>;
  return typeof v.forward === 'function' && typeof v.patchSize === 'number' && typeof v.numLayers === 'number' && typeof v.finalNormEps === 'number';
}

export interface HFEncoderOptions extends LoadHFOptions, Partial<Omit<ViTEncoderOptions, 'imageSize'>> {
  /** Input resolution after preprocessing: a side (square) or (height, width); default from the processor. */
  imageSize?: number | [number, number];
}

/** An image encoder (core `Encoder`) from a folder or Hub id; `.model` is the raw tower, `.processor` the parsed image processor. */
export async function loadHFEncoder(folderOrId: string, opts: HFEncoderOptions = {}): Promise<ViTEncoder> {
  const loaded = await loadHFModel(folderOrId, { ...opts, tower: opts.tower ?? 'vision' });
  const { model, folder } = loaded;
  if (!isVisionModel(model)) {
    model.dispose();
    throw new Error(`${folder.id}: model_type "${model.modelType}" is not an image encoder`);
  }
  try {
    const processor = parseImageProcessor(folder.processorConfig, path.join(folder.dir, 'preprocessor_config.json'), loaded.processorDefaults);
    const size = opts.imageSize;
    const imageSize: [number, number] | undefined = size == null ? undefined : typeof size === 'number' ? [size, size] : size;
    return new ViTEncoder(model, processor, { name: opts.name ?? folderOrId, imageSize, preprocess: opts.preprocess });
  } catch (e) {
    model.dispose();
    throw e;
  }
}
