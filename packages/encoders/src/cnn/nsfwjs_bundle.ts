/**
 * Offline loading of the pretrained tfjs LayersModels that ship inside the `nsfwjs` npm package.
 * nsfwjs wraps each `model.json` and weight shard in a browserify `.min.js` module (the shard as a
 * base64 string); we `require` those files from the installed package and hand tfjs an in-memory
 * IOHandler — no network, no browser. The topology is cut after the requested layers so the
 * classifier head (fixed-size Flatten/Dense) is never built and any input size works.
 */
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '@raev2/core';

const require = createRequire(import.meta.url);

/** The nsfwjs bundles we know: folder under `dist/models` and number of weight shards. */
export const NSFWJS_MODELS = {
  mobilenet_v2: { shards: 1 },
  inception_v3: { shards: 6 },
} as const;
export type NsfwjsModelName = keyof typeof NSFWJS_MODELS;

interface KerasLayer {
  class_name: string;
  name: string;
  config: Record<string, unknown>;
  inbound_nodes: [string, number, number, Record<string, unknown>?][][];
}
interface ModelJson {
  modelTopology: { model_config: { config: { layers: KerasLayer[]; input_layers: unknown[]; output_layers: unknown[] } } };
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/** Folder of the installed nsfwjs model bundles (throws with an install hint when absent). */
export function nsfwjsModelsDir(): string {
  let entry: string;
  try {
    entry = require.resolve('nsfwjs');
  } catch {
    throw new Error("the offline CNN encoders need the 'nsfwjs' npm package (npm i nsfwjs@4.4.0)");
  }
  // …/nsfwjs/dist/cjs/index.js → …/nsfwjs/dist/models
  const dir = path.join(path.dirname(path.dirname(entry)), 'models');
  if (!fs.existsSync(dir)) throw new Error(`nsfwjs is installed but ${dir} is missing (the package ships its models there since 4.0)`);
  return dir;
}

/** model.json of an nsfwjs bundle (parsed from `model.min.js`). */
export function readNsfwjsModelJson(name: NsfwjsModelName): ModelJson {
  return require(path.join(nsfwjsModelsDir(), name, 'model.min.js')) as ModelJson;
}

/** Keep only `outputs` and their ancestors; make the input size free (batch, H, W open). */
export function truncateTopology(json: ModelJson, outputs: string[]): object {
  const topo = structuredClone(json.modelTopology);
  const cfg = topo.model_config.config;
  const byName = new Map(cfg.layers.map((l) => [l.name, l]));
  const keep = new Set<string>();
  const visit = (n: string): void => {
    if (keep.has(n)) return;
    const layer = byName.get(n);
    if (layer == null) throw new Error(`layer '${n}' is not in the model (available: ${[...byName.keys()].join(', ')})`);
    keep.add(n);
    for (const node of layer.inbound_nodes) for (const [src] of node) visit(src);
  };
  outputs.forEach(visit);
  cfg.layers = cfg.layers.filter((l) => keep.has(l.name));
  for (const l of cfg.layers) if (l.class_name === 'InputLayer') l.config.batch_input_shape = [null, null, null, 3];
  cfg.output_layers = outputs.map((o) => [o, 0, 0]);
  return topo;
}

/** Load an nsfwjs bundle as a frozen LayersModel whose outputs are the named layers. */
export async function loadNsfwjsModel(name: NsfwjsModelName, outputs: string[]): Promise<tf.LayersModel> {
  const json = readNsfwjsModelJson(name);
  const dir = path.join(nsfwjsModelsDir(), name);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const chunks: Buffer[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const file = path.join(dir, `${p}.min.js`);
      const b64 = require(file) as unknown;
      delete require.cache[file]; // the base64 text (up to 29 MB) is not needed once decoded
      if (typeof b64 !== 'string') throw new Error(`nsfwjs weight bundle ${p}.min.js did not export a base64 string`);
      chunks.push(Buffer.from(b64, 'base64'));
    }
    specs.push(...group.weights);
  }
  const all = Buffer.concat(chunks);
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: truncateTopology(json, outputs),
    weightSpecs: specs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
  };
  // strict: false — weights of the cut-off head have no target layer.
  const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts), { strict: false });
  model.trainable = false; // frozen: never shows up in variableGrads / optimiser updates
  return model;
}
