/**
 * The offline pretrained CNN encoders (`mobilenetv2-nsfwjs`, `inceptionv3-nsfwjs`): spec options
 * `stage=<id>` picks the resolution stage (its blocks become the encoder's layers) and `res=<px>`
 * the image side the latent grid covers (a multiple of the stage's patch size).
 */
import type { SpecOptions } from '@raev2/core';
import { checkOptions } from '../spec.js';
import { loadNsfwjsModel, type NsfwjsModelName } from './nsfwjs_bundle.js';
import { CnnStageEncoder, type CnnGeometry, type CnnStage } from './stage_encoder.js';
import { MOBILENET_V2_DEFAULT_STAGE, MOBILENET_V2_INPUT, MOBILENET_V2_STAGES, mobilenetGeometry } from './mobilenet_v2.js';
import { INCEPTION_V3_DEFAULT_STAGE, INCEPTION_V3_INPUT, INCEPTION_V3_STAGES, inceptionGeometry } from './inception_v3.js';

export { CnnStageEncoder, type CnnStage, type CnnGeometry } from './stage_encoder.js';
export { MOBILENET_V2_STAGES } from './mobilenet_v2.js';
export { INCEPTION_V3_STAGES, inceptionGrid } from './inception_v3.js';
export { loadNsfwjsModel, nsfwjsModelsDir, readNsfwjsModelJson } from './nsfwjs_bundle.js';

interface CnnFamily {
  bundle: NsfwjsModelName;
  stages: CnnStage[];
  defaultStage: string;
  /** Default image side (what nsfwjs feeds the network). */
  defaultInput: number;
  geometry(stage: CnnStage): CnnGeometry;
}

export const CNN_FAMILIES: Record<'mobilenetv2' | 'inceptionv3', CnnFamily> = {
  mobilenetv2: {
    bundle: 'mobilenet_v2',
    stages: MOBILENET_V2_STAGES,
    defaultStage: MOBILENET_V2_DEFAULT_STAGE,
    defaultInput: MOBILENET_V2_INPUT,
    geometry: (s) => mobilenetGeometry(s.patchSize),
  },
  inceptionv3: {
    bundle: 'inception_v3',
    stages: INCEPTION_V3_STAGES,
    defaultStage: INCEPTION_V3_DEFAULT_STAGE,
    defaultInput: INCEPTION_V3_INPUT,
    geometry: (s) => inceptionGeometry(s.patchSize === 16 ? '17' : '8'),
  },
};

/** Build an nsfwjs CNN encoder; `options` may hold `stage` and `res`. */
export async function createNsfwjsEncoder(family: keyof typeof CNN_FAMILIES, name: string, options: SpecOptions = {}): Promise<CnnStageEncoder> {
  const fam = CNN_FAMILIES[family];
  checkOptions(name, options, ['stage']);
  const stageId = options.stage === undefined ? fam.defaultStage : String(options.stage);
  const stage = fam.stages.find((s) => s.id === stageId);
  if (stage == null) throw new Error(`encoder '${name}': unknown stage '${stageId}' (stages: ${fam.stages.map((s) => `${s.id} = ${s.description}`).join('; ')})`);
  const geometry = fam.geometry(stage);
  let grid: number;
  if (options.res !== undefined) {
    const res = Number(options.res);
    if (!Number.isInteger(res) || res % stage.patchSize !== 0 || res < stage.patchSize) {
      throw new Error(`encoder '${name}': res=${options.res} must be a positive multiple of the stage's patch size ${stage.patchSize}`);
    }
    grid = res / stage.patchSize;
  } else grid = geometry.gridForInputSize(fam.defaultInput);
  const model = await loadNsfwjsModel(fam.bundle, [stage.inputLayer, ...stage.blockLayers]);
  return new CnnStageEncoder({ name, model, stage, geometry, grid });
}
