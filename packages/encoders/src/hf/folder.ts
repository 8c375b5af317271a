/**
 * An HF model folder: `config.json`, weights in `model.safetensors` or a sharded
 * `model.safetensors.index.json`, and an optional `preprocessor_config.json`. `resolveModelFolder`
 * accepts a local path or a Hub id (see hub.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { readJsonFile } from '@raev2/core';
import { isHubId, resolveHubModel, type HubOptions } from './hub.js';

export interface HFFolder {
  /** Absolute path of the folder. */
  dir: string;
  /** What the user asked for (a path or a hub id), for messages. */
  id: string;
  /** `config.json` as parsed JSON (validated per family later). */
  config: Record<string, unknown>;
  /** `preprocessor_config.json` as parsed JSON, or null when the folder has none. */
  processorConfig: Record<string, unknown> | null;
  /** `model.safetensors` or `model.safetensors.index.json`. */
  weightsFile: string;
}

const JsonObject = z.record(z.string(), z.unknown());
const ConfigHead = z.looseObject({ model_type: z.string({ error: 'missing "model_type" (is this a transformers config.json?)' }) });

/** Resolve a local folder path or a Hub id (`org/name`) to a folder on disk. */
export async function resolveModelFolder(folderOrId: string, opts: HubOptions = {}): Promise<string> {
  const local = path.resolve(folderOrId);
  if (fs.existsSync(local)) {
    if (!fs.statSync(local).isDirectory()) throw new Error(`${local} is a file; expected a model folder holding config.json and model.safetensors`);
    return local;
  }
  const looksLikePath = folderOrId.startsWith('.') || folderOrId.startsWith('/') || folderOrId.startsWith('~') || folderOrId.includes('\\') || folderOrId.split('/').length > 2;
  if (looksLikePath || !isHubId(folderOrId)) {
    throw new Error(`model folder ${local} does not exist (give a folder holding config.json and model.safetensors, or a Hub id like "facebook/dinov2-small")`);
  }
  return resolveHubModel(folderOrId, opts);
}

/** Read a model folder's configs and locate its weights; errors name the missing file and how to provide it. */
export function openModelFolder(dir: string, id = dir): HFFolder {
  const cfgFile = path.join(dir, 'config.json');
  if (!fs.existsSync(cfgFile)) throw new Error(`${id}: ${cfgFile} not found — a Hugging Face model folder needs config.json (save the model with save_pretrained)`);
  const config = readJsonFile(ConfigHead, cfgFile) as Record<string, unknown>;
  const procFile = path.join(dir, 'preprocessor_config.json');
  const processorConfig = fs.existsSync(procFile) ? (readJsonFile(JsonObject, procFile) as Record<string, unknown>) : null;
  const single = path.join(dir, 'model.safetensors');
  const index = path.join(dir, 'model.safetensors.index.json');
  const weightsFile = fs.existsSync(single) ? single : fs.existsSync(index) ? index : null;
  if (weightsFile == null) {
    const others = fs.readdirSync(dir).filter((f) => /\.(bin|pt|pth|ckpt|onnx|h5)$/.test(f));
    const hint = others.length ? ` (found ${others.join(', ')}: only safetensors weights are read — convert them with save_pretrained(safe_serialization=True))` : '';
    throw new Error(`${id}: no weights in ${dir}: expected model.safetensors or model.safetensors.index.json${hint}`);
  }
  return { dir, id, config, processorConfig, weightsFile };
}

/** Resolve and open in one step. */
export async function loadModelFolder(folderOrId: string, opts: HubOptions = {}): Promise<HFFolder> {
  return openModelFolder(await resolveModelFolder(folderOrId, opts), folderOrId);
}
