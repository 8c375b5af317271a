/**
 * `onnx:<file.onnx | folder>` encoders. The graph gives the hidden states; the rest (patch size,
 * resolution, normalisation, prefix tokens, final-norm eps) comes from the HF `config.json` /
 * `preprocessor_config.json` found beside the file or one folder up (optimum's `onnx/model.onnx`
 * layout), and spec options override it: `patch`, `prefix`, `eps`, `mean`/`std` (three dot-separated
 * numbers, e.g. `mean=0.5.0.5.0.5` is ambiguous, so use `mean=0.5_0.5_0.5`), `res`, `input`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { parseWith, type SpecOptions } from '@raev2/core';
import { checkOptions } from '../spec.js';
import { OnnxEncoder, type OnnxEncoderConfig } from './encoder.js';

const HFConfig = z.looseObject({
  model_type: z.string().optional(),
  patch_size: z.number().int().positive().optional(),
  image_size: z.union([z.number().int().positive(), z.tuple([z.number(), z.number()])]).optional(),
  layer_norm_eps: z.number().positive().optional(),
  num_register_tokens: z.number().int().nonnegative().optional(),
  vision_config: z.looseObject({}).optional(),
});
const Preprocessor = z.looseObject({
  image_mean: z.array(z.number()).length(3).optional(),
  image_std: z.array(z.number()).length(3).optional(),
});

/** A folder or file → the .onnx file (tries model.onnx, onnx/model.onnx). */
export function resolveOnnxFile(target: string): string {
  if (!fs.existsSync(target)) throw new Error(`ONNX model '${target}' not found (give a .onnx file or a folder holding model.onnx or onnx/model.onnx)`);
  if (fs.statSync(target).isFile()) return target;
  for (const c of ['model.onnx', path.join('onnx', 'model.onnx')]) if (fs.existsSync(path.join(target, c))) return path.join(target, c);
  throw new Error(`no model.onnx or onnx/model.onnx in folder '${target}'`);
}

function readJsonBeside<S extends z.ZodType>(file: string, name: string, schema: S): z.infer<S> | undefined {
  for (const dir of [path.dirname(file), path.dirname(path.dirname(file))]) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) {
      let json: unknown;
      try {
        json = JSON.parse(fs.readFileSync(p, 'utf8'));
      } catch (e) {
        throw new Error(`${p} is not valid JSON: ${(e as Error).message}`);
      }
      return parseWith(schema, json, p);
    }
  }
  return undefined;
}

function numberOption(options: SpecOptions, key: string, name: string): number | undefined {
  const v = options[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === true || !Number.isFinite(n)) throw new Error(`encoder '${name}': option ${key}=${String(v)} is not a number`);
  return n;
}

function tripleOption(options: SpecOptions, key: string, name: string): [number, number, number] | undefined {
  const v = options[key];
  if (v === undefined) return undefined;
  const parts = String(v).split('_').map(Number);
  if (parts.length === 1 && Number.isFinite(parts[0])) return [parts[0], parts[0], parts[0]];
  if (parts.length !== 3 || !parts.every(Number.isFinite)) throw new Error(`encoder '${name}': option ${key}=${String(v)} must be one number or three joined by '_' (e.g. 0.485_0.456_0.406)`);
  return parts as [number, number, number];
}

/** Encoder config for an ONNX file from the HF configs beside it and the spec options. */
export function onnxEncoderConfig(file: string, name: string, options: SpecOptions): OnnxEncoderConfig {
  const root = readJsonBeside(file, 'config.json', HFConfig);
  // CLIP/SigLIP-style combined configs keep the vision settings in vision_config.
  const cfg = root?.vision_config ? parseWith(HFConfig, root.vision_config, `${file}: vision_config`) : root;
  const pre = readJsonBeside(file, 'preprocessor_config.json', Preprocessor);
  const patch = numberOption(options, 'patch', name) ?? cfg?.patch_size;
  if (patch == null) throw new Error(`encoder '${name}': no config.json beside ${file}; give the patch size as an option, e.g. onnx:${file}[patch=14]`);
  const size = numberOption(options, 'res', name) ?? cfg?.image_size ?? 224;
  const modelType = cfg?.model_type ?? root?.model_type ?? '';
  const defaultPrefix = modelType.startsWith('siglip') ? 0 : 1 + (cfg?.num_register_tokens ?? 0);
  return {
    name,
    patchSize: patch,
    imageSize: typeof size === 'number' ? [size, size] : [size[0], size[1]],
    imageMean: tripleOption(options, 'mean', name) ?? (pre?.image_mean as [number, number, number] | undefined) ?? [0, 0, 0],
    imageStd: tripleOption(options, 'std', name) ?? (pre?.image_std as [number, number, number] | undefined) ?? [1, 1, 1],
    prefixTokens: numberOption(options, 'prefix', name) ?? defaultPrefix,
    layerNormEps: numberOption(options, 'eps', name) ?? cfg?.layer_norm_eps ?? 1e-6,
    inputName: options.input === undefined ? undefined : String(options.input),
  };
}

/** Open an ONNX vision model as an Encoder (ORT on the CPU, `threads` intra-op threads). */
export async function loadOnnxEncoder(target: string, options: SpecOptions = {}, name = `onnx:${target}`): Promise<OnnxEncoder> {
  checkOptions(name, options, ['patch', 'prefix', 'eps', 'mean', 'std', 'input', 'threads']);
  const file = resolveOnnxFile(target);
  const cfg = onnxEncoderConfig(file, name, options);
  const ort = await import('onnxruntime-node');
  const threads = numberOption(options, 'threads', name);
  // logSeverityLevel 4: run errors are thrown to the caller anyway; don't also print them.
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: threads ?? 0, graphOptimizationLevel: 'all', logSeverityLevel: 4 });
  // Width of the hidden states: from the graph's output metadata, else probe with one zero image.
  const meta = session.outputMetadata.find((m) => m.name === session.outputNames.find((n) => /^hidden_states[._]0$/.test(n)));
  let hidden = meta && meta.isTensor ? Number(meta.shape[meta.shape.length - 1]) : NaN;
  const enc0 = new OnnxEncoder(ort, session, cfg, Number.isInteger(hidden) && hidden > 0 ? hidden : 0);
  if (enc0.hiddenSize > 0) return enc0;
  const { tf } = await import('@raev2/core');
  const probe = tf.zeros([1, 3, cfg.imageSize[0], cfg.imageSize[1]]);
  const out = await enc0.forwardAsync(probe);
  hidden = (out.hiddenStates[0].shape as number[])[2];
  probe.dispose();
  out.hiddenStates.forEach((h) => h.dispose());
  return new OnnxEncoder(ort, session, cfg, hidden);
}
