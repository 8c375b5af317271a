/**
 * What a family builder receives and returns, and the common "parse config → construct → load
 * weights" step. Builders are listed by `model_type` in families.ts.
 */
import type { z } from 'zod';
import { parseWith, type Module } from '@raev2/core';
import type { HFFolder } from './folder.js';
import type { HubOptions } from './hub.js';
import type { ProcessorDefaults } from '../preprocess/processor.js';
import { loadWeights, type KeyMapping } from './weights.js';

export interface LoadHFOptions extends HubOptions {
  /** Tower of a combined checkpoint (CLIP / SigLIP `vision_config` + `text_config`) to build; default 'vision'. */
  tower?: 'vision' | 'text';
}

/** A loaded HF model of any kind (vision towers also implement HFVisionModel). */
export interface HFModel {
  readonly modelType: string;
  dispose(): void;
}

export interface BuiltModel<M extends HFModel = HFModel> {
  model: M;
  /** Image-processor defaults for folders without preprocessor_config.json (vision towers). */
  processorDefaults?: ProcessorDefaults;
}

export interface FamilyContext {
  folder: HFFolder;
  options: LoadHFOptions;
}

export type FamilyBuilder = (ctx: FamilyContext) => BuiltModel;

/** Validate `config` with `schema`, build the module and load the folder's weights into it (strict). */
export function buildFromConfig<S extends z.ZodType, M extends Module & HFModel>(
  ctx: FamilyContext,
  schema: S,
  config: unknown,
  make: (c: z.infer<S>) => M,
  className: string,
  mapping: KeyMapping = {},
): M {
  const cfg = parseWith(schema, config, `${ctx.folder.dir}/config.json`);
  const model = make(cfg);
  try {
    loadWeights(model, ctx.folder.weightsFile, className, mapping);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model.eval();
}
