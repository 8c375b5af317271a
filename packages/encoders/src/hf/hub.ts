/**
 * Hugging Face Hub ids → a local model folder. Looks in the Python hub cache (`HF_HUB_CACHE`, or
 * `$HF_HOME/hub`, default `~/.cache/huggingface/hub`, layout `models--org--name/snapshots/<rev>/`),
 * then in `@huggingface/transformers`' file cache (`env.cacheDir/<id>/`), and, when online, downloads
 * the files into the latter with transformers.js' host, path template, fetch and `HF_TOKEN`.
 * Offline when `HF_HUB_OFFLINE` / `TRANSFORMERS_OFFLINE` is set, `env.allowRemoteModels` is false,
 * or `localFilesOnly` is asked for.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { progress } from '@raev2/core';

export interface HubOptions {
  /** Branch, tag or commit (default `main`). */
  revision?: string;
  /** Never download (also implied by HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1, env.allowRemoteModels=false). */
  localFilesOnly?: boolean;
  /** Python hub cache folder (default HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub). */
  hubCache?: string;
  /** transformers.js file cache (default its `env.cacheDir`); downloads go here. */
  cacheDir?: string;
  /** Files fetched when present besides config, processor config and weights (e.g. tokenizer files). */
  extraFiles?: string[];
  /** Show download progress (default: on unless RAEV2_QUIET=1). */
  progress?: boolean;
}

/** Same rule as transformers.js: `name` or `org/name` of word characters, '-' and '.'. */
export function isHubId(s: string): boolean {
  return /^(\b[\w\-.]+\b\/)?\b[\w\-.]{1,96}\b$/.test(s) && !s.includes('..') && !s.includes('--') && !s.endsWith('.git');
}

const truthy = (v: string | undefined) => v != null && ['1', 'true', 'yes', 'on'].includes(v.trim().toLowerCase());

/** The Python hub cache folder. */
export function pythonHubCache(opts: HubOptions = {}): string {
  if (opts.hubCache) return opts.hubCache;
  if (process.env.HF_HUB_CACHE) return process.env.HF_HUB_CACHE;
  const home = process.env.HF_HOME ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'huggingface');
  return path.join(home, 'hub');
}

/** A complete model folder: it has config.json and weights. */
export function hasModelFiles(dir: string): boolean {
  const has = (f: string) => fs.existsSync(path.join(dir, f));
  return has('config.json') && (has('model.safetensors') || has('model.safetensors.index.json'));
}

/** Snapshot folder of `id` in the Python hub cache, or null. */
export function findInPythonCache(id: string, opts: HubOptions = {}): string | null {
  const repo = path.join(pythonHubCache(opts), `models--${id.replace(/\//g, '--')}`);
  const rev = opts.revision ?? 'main';
  let hash = rev;
  const ref = path.join(repo, 'refs', rev);
  if (fs.existsSync(ref)) hash = fs.readFileSync(ref, 'utf8').trim();
  const snap = path.join(repo, 'snapshots', hash);
  return hasModelFiles(snap) ? snap : null;
}

type TransformersEnv = { cacheDir: string | null; allowRemoteModels: boolean; remoteHost: string; remotePathTemplate: string; fetch?: typeof fetch };

async function transformersEnv(): Promise<TransformersEnv> {
  const { env } = await import('@huggingface/transformers');
  return env as unknown as TransformersEnv;
}

/** Folder of `id` in transformers.js' file cache layout (`<cacheDir>/<id>/` for main, else `<cacheDir>/<id>/<revision>/`). */
export function transformersCacheFolder(cacheDir: string, id: string, revision = 'main'): string {
  return revision === 'main' ? path.join(cacheDir, id) : path.join(cacheDir, id, revision);
}

/** Whether downloads are disabled by options or environment. */
export function isOffline(opts: HubOptions, env?: { allowRemoteModels: boolean }): boolean {
  return Boolean(opts.localFilesOnly) || truthy(process.env.HF_HUB_OFFLINE) || truthy(process.env.TRANSFORMERS_OFFLINE) || env?.allowRemoteModels === false;
}

/** Resolve a hub id to a local folder holding its config and weights (downloading when allowed). */
export async function resolveHubModel(id: string, opts: HubOptions = {}): Promise<string> {
  const revision = opts.revision ?? 'main';
  const py = findInPythonCache(id, opts);
  if (py) return py;
  const offlineByOpts = isOffline(opts);
  const env = opts.cacheDir != null && offlineByOpts ? null : await transformersEnv();
  const cacheDir = opts.cacheDir ?? env?.cacheDir ?? path.join(os.homedir(), '.cache', 'transformers.js');
  const local = transformersCacheFolder(cacheDir, id, revision);
  if (hasModelFiles(local)) return local;
  if (isOffline(opts, env ?? undefined)) {
    throw new Error(
      `model "${id}" (revision ${revision}) is not available offline: no complete copy (config.json + model.safetensors) in the Hugging Face cache ` +
        `${path.join(pythonHubCache(opts), `models--${id.replace(/\//g, '--')}`)} nor in ${local}, and downloads are disabled ` +
        `(HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE / env.allowRemoteModels / localFilesOnly). ` +
        `Pass a local folder path that holds config.json and model.safetensors, or download it once into the cache (set HF_HOME to choose where).`,
    );
  }
  await downloadModel(id, local, revision, env!, opts);
  return local;
}

/** Download config, processor config, weights (single or sharded) and extra files of `id` into `dir`. */
async function downloadModel(id: string, dir: string, revision: string, env: TransformersEnv, opts: HubOptions): Promise<void> {
  const base = env.remoteHost.replace(/\/?$/, '/') + env.remotePathTemplate.replaceAll('{model}', id).replaceAll('{revision}', encodeURIComponent(revision));
  const get = (file: string, required: boolean) => downloadFile(`${base.replace(/\/?$/, '/')}${file}`, path.join(dir, file), required, env, opts.progress);
  await get('config.json', true);
  await get('preprocessor_config.json', false);
  if (!(await get('model.safetensors', false))) {
    if (!(await get('model.safetensors.index.json', false))) {
      throw new Error(`model "${id}" has no model.safetensors nor model.safetensors.index.json on ${env.remoteHost} (revision ${revision}); only safetensors weights are supported`);
    }
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map?: Record<string, string> };
    for (const shard of new Set(Object.values(index.weight_map ?? {}))) await get(shard, true);
  }
  for (const f of opts.extraFiles ?? []) await get(f, false);
}

/** Stream one URL to `file` (atomically); returns false on 404 when not required. */
async function downloadFile(url: string, file: string, required: boolean, env: TransformersEnv, showProgress?: boolean): Promise<boolean> {
  if (fs.existsSync(file)) return true;
  const headers: Record<string, string> = {};
  const token = process.env.HF_TOKEN ?? process.env.HF_ACCESS_TOKEN;
  if (token) headers.Authorization = `Bearer ${token}`;
  const fetchFn = env.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await fetchFn(url, { headers });
  } catch (e) {
    throw new Error(`cannot download ${url}: ${(e as Error).message} (offline? set HF_HUB_OFFLINE=1 and pass a local folder, or fill the cache with HF_HOME)`);
  }
  if (res.status === 404 && !required) return false;
  if (!res.ok || res.body == null) {
    const hint = res.status === 401 || res.status === 403
      ? ' (gated or private model: accept its licence on the Hub and set HF_TOKEN)'
      : res.status === 404 ? ' (check the model id and revision; private repos also need HF_TOKEN)' : '';
    throw new Error(`cannot download ${url}: HTTP ${res.status}${hint}`);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const total = Number(res.headers.get('content-length') ?? 0);
  const bar = total > 1 << 24 ? progress({ label: `download ${path.basename(file)}`, total, unit: 'B', enabled: showProgress }) : null;
  let done = 0;
  try {
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => bar?.update((done += chunk.length)));
    await pipeline(body, fs.createWriteStream(tmp));
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`download of ${url} failed: ${(e as Error).message}`);
  }
  bar?.finish();
  return true;
}
