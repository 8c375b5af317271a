/**
 * `raev2 features`: run an encoder over an image folder or a stored `pixel_values` batch and write
 * every hidden state (and the multi-layer latent when the spec selects layers) to safetensors.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import sharp from 'sharp';
import {
  tf,
  initRuntime,
  parseFlags,
  progress,
  saveSafetensors,
  SafetensorsFile,
  assertFinite,
  checkOutput,
  IMAGE_EXTENSIONS,
  UNREADABLE_IMAGE_EXTENSIONS,
  latentFromOutput,
  disposeOutput,
  encodePixelsAsync,
  UsageError,
  type Command,
  type Encoder,
  type EncoderOutput,
  type HostTensor,
  type Tensor,
} from '@raev2/core';
import { loadEncoder } from '@raev2/encoders';
import { extractTextFeatures } from '@raev2/t2i';

/** Inputs that HF processors store beside `pixel_values` and that the encoders accept by name. */
export const EXTRA_INPUTS = ['pixel_attention_mask', 'spatial_shapes', 'noise'] as const;

const USAGE = `usage: raev2 features --model <spec | folder | hub id> (--images <folder> | --pixel-values <file.safetensors> | --input-ids <file.safetensors>) --out <file.safetensors> [--batch 8]

  --model         encoder spec (e.g. "dinov2-vit-b14reg[layers=last4]", "mobilenetv2-nsfwjs"), an HF model folder, or a hub id
  --images        folder of images (png, jpg, webp, …), read as RGB and resized to the encoder's resolution
  --pixel-values  safetensors file with 'pixel_values' [B,3,H,W] already normalised (plus ${EXTRA_INPUTS.join(', ')} when the model takes them)
  --input-ids     safetensors file with 'input_ids' [B,L] (int64/int32) and optional 'attention_mask', for a SigLIP / SigLIP-2 text model
                  (--model: its HF folder or hub id); writes hidden_states.*, last_hidden_state, pooler_output
  --attention-mask on|off   with --input-ids: pass attention_mask into the tower (default off: SigLIP attends to its pads, as HF's processor)
  --out           output safetensors: hidden_states.0 … hidden_states.L [N,T,D]; 'latent' [N,h·w,C] when the spec selects layers
  --batch         images per forward pass (default 8)
  --allow-non-finite   warn instead of failing when inputs or outputs hold NaN/Inf (NaN weights show as non-finite outputs)`;

const Flags = z
  .object({
    model: z.string({ error: 'is required' }).min(1, 'must not be empty'),
    images: z.string().min(1).optional(),
    'pixel-values': z.string().min(1).optional(),
    'input-ids': z.string().min(1).optional(),
    'attention-mask': z.enum(['on', 'off']).default('off'),
    out: z.string({ error: 'is required' }).min(1, 'must not be empty'),
    batch: z.coerce.number().int().positive().default(8),
    'allow-non-finite': z.boolean().default(false),
  })
  .refine((f) => [f.images, f['pixel-values'], f['input-ids']].filter((v) => v != null).length === 1, { message: 'give exactly one of --images and --pixel-values (or --input-ids for a text model)', path: ['images'] });

export interface FeatureOptions {
  model: string;
  images?: string;
  pixelValues?: string;
  out: string;
  batch?: number;
  /** Show progress (default: on unless RAEV2_QUIET=1). */
  progress?: boolean;
  /** Warn instead of failing on non-finite inputs or outputs (default false). */
  allowNonFinite?: boolean;
}

/** Images of a folder, sorted by name (throws naming the folder when there are none). */
export function listImages(folder: string): string[] {
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) throw new Error(`--images: ${folder} is not a folder`);
  const all = fs.readdirSync(folder);
  const files = all.filter((f) => IMAGE_EXTENSIONS.includes(path.extname(f).toLowerCase())).sort();
  const unreadable = all.filter((f) => UNREADABLE_IMAGE_EXTENSIONS.includes(path.extname(f).toLowerCase()));
  if (unreadable.length) process.stderr.write(`warning: --images: skipping ${unreadable.length} image(s) of a type that cannot be decoded (${unreadable.slice(0, 3).join(', ')}${unreadable.length > 3 ? ', …' : ''}); convert them to PNG\n`);
  if (files.length === 0) throw new Error(`--images: no images (${IMAGE_EXTENSIONS.join(' ')}) in ${folder}`);
  return files.map((f) => path.join(folder, f));
}

/** One image file → RGB float32 [H, W, 3] in [0, 1] at (h, w) (alpha composited on white). */
async function readImageFile(file: string, [h, w]: [number, number]): Promise<Float32Array> {
  try {
    const { data } = await sharp(file).flatten({ background: '#ffffff' }).removeAlpha().toColourspace('srgb').resize(w, h, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
    return Float32Array.from(data, (v) => v / 255);
  } catch (e) {
    throw new Error(`cannot read image ${file}: ${(e as Error).message}`);
  }
}

/** Accumulates batches of one output along the batch axis on the host. */
class Stack {
  private chunks: Float32Array[] = [];
  private tail: number[] | null = null;
  private rows = 0;
  constructor(readonly name: string) {}
  push(t: Tensor): void {
    const [b, ...rest] = t.shape as number[];
    if (this.tail && rest.join() !== this.tail.join()) throw new Error(`${this.name}: batch shape [${rest}] differs from earlier [${this.tail}] (use images of one size)`);
    this.tail = rest;
    this.chunks.push(t.dataSync() as Float32Array);
    this.rows += b;
  }
  host(): HostTensor {
    const total = this.chunks.reduce((n, c) => n + c.length, 0);
    const data = new Float32Array(total);
    let o = 0;
    for (const c of this.chunks) {
      data.set(c, o);
      o += c.length;
    }
    return { dtype: 'F32', shape: [this.rows, ...(this.tail ?? [])], data };
  }
}

/** Batches of named model inputs, from an image folder or a stored pixel_values file. */
async function* inputBatches(encoder: Encoder, opts: FeatureOptions, files: string[], batch: number): AsyncGenerator<Record<string, Tensor>> {
  if (opts.images != null) {
    const [h, w] = encoder.imageSize;
    for (let i = 0; i < files.length; i += batch) {
      const chunk = files.slice(i, i + batch);
      const pixels = await Promise.all(chunk.map((f) => readImageFile(f, [h, w])));
      const data = new Float32Array(chunk.length * h * w * 3);
      pixels.forEach((p, k) => data.set(p, k * p.length));
      const images = tf.tensor4d(data, [chunk.length, h, w, 3]);
      const px = encoder.preprocess(images);
      images.dispose();
      yield { pixel_values: px };
    }
    return;
  }
  const file = SafetensorsFile.open(opts.pixelValues!);
  try {
    if (!file.keys().includes('pixel_values')) throw new Error(`--pixel-values: ${opts.pixelValues} has no tensor 'pixel_values' (tensors: ${file.keys().join(', ')})`);
    const names = ['pixel_values', ...EXTRA_INPUTS.filter((n) => file.keys().includes(n))];
    const all = names.map((n) => [n, file.read(n)] as const);
    const n = all[0][1].shape[0];
    try {
      for (let i = 0; i < n; i += batch) {
        const size = Math.min(batch, n - i);
        yield Object.fromEntries(all.map(([k, t]) => [k, t.slice(i, size)]));
      }
    } finally {
      all.forEach(([, t]) => t.dispose());
    }
  } finally {
    file.close();
  }
}

async function runModel(encoder: Encoder, inputs: Record<string, Tensor>): Promise<EncoderOutput> {
  const extra = Object.keys(inputs).filter((k) => k !== 'pixel_values');
  if (extra.length === 0) return encodePixelsAsync(encoder, inputs.pixel_values);
  if (encoder.forwardInputs == null) throw new Error(`encoder ${encoder.name} takes only pixel_values, but the input file also holds ${extra.join(', ')}`);
  return encoder.forwardInputs(inputs);
}

/** Run the extraction; returns the number of images processed. */
export async function extractFeatures(opts: FeatureOptions): Promise<number> {
  await initRuntime();
  checkOutput(opts.out, { kind: 'file', what: '--out' });
  const batch = opts.batch ?? 8;
  const finite = { warn: opts.allowNonFinite ?? false };
  const files = opts.images != null ? listImages(opts.images) : [];
  if (opts.pixelValues != null && !fs.existsSync(opts.pixelValues)) throw new Error(`--pixel-values: ${opts.pixelValues} not found`);
  const { encoder, spec, selection } = await loadEncoder(opts.model);
  const withLatent = spec.layers != null || spec.combine != null || spec.global != null;
  const stacks = new Map<string, Stack>();
  const push = (name: string, t: Tensor): void => {
    if (!stacks.has(name)) stacks.set(name, new Stack(name));
    stacks.get(name)!.push(t);
  };
  let done = 0, grid: [number, number] = [0, 0], prefix = 0;
  const bar = progress({ label: 'features', total: files.length || 1, unit: 'img', enabled: opts.progress });
  try {
    for await (const inputs of inputBatches(encoder, opts, files, batch)) {
      let out: EncoderOutput;
      try {
        const where = opts.images != null ? `--images ${opts.images} (images ${done + 1}–${done + inputs.pixel_values.shape[0]})` : `--pixel-values ${opts.pixelValues} (rows ${done}–${done + inputs.pixel_values.shape[0] - 1})`;
        assertFinite(Object.entries(inputs), where, finite);
        out = await runModel(encoder, inputs);
      } finally {
        tf.dispose(Object.values(inputs));
      }
      try {
        assertFinite(out.hiddenStates.map((h, i) => [`hidden_states.${i}`, h] as [string, Tensor]), `features of ${opts.model} (inputs ${done}–${done + out.hiddenStates[0].shape[0] - 1})`, { ...finite, hint: 'the inputs are finite, so the model weights hold NaN/Inf or overflow' });
      } catch (e) {
        disposeOutput(out);
        throw e;
      }
      out.hiddenStates.forEach((h, i) => push(`hidden_states.${i}`, h));
      if (withLatent) {
        const z = latentFromOutput(encoder, out, selection);
        push('latent', z);
        z.dispose();
      }
      ({ grid, prefixTokens: prefix } = out);
      done += out.hiddenStates[0].shape[0];
      disposeOutput(out);
      bar.update(files.length ? done : 1);
    }
    bar.finish();
    const tensors = new Map([...stacks].map(([k, s]) => [k, s.host()]));
    const metadata: Record<string, string> = {
      model: opts.model,
      encoder: encoder.name,
      grid: grid.join('x'),
      prefix_tokens: String(prefix),
      ...(withLatent ? { latent_layers: selection.layers.join('.'), latent_combine: selection.combine ?? 'mean', latent_global: String(selection.global ?? false) } : {}),
      ...(files.length ? { images: JSON.stringify(files.map((f) => path.basename(f))) } : { pixel_values: path.basename(opts.pixelValues!) }),
    };
    saveSafetensors(opts.out, tensors, { metadata });
    return done;
  } finally {
    encoder.dispose();
  }
}

export const featuresCommand: Command = {
  name: 'features',
  summary: 'encode images (or stored pixel_values) and write every hidden state to safetensors',
  usage: USAGE,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(
      argv,
      { model: { type: 'string' }, images: { type: 'string' }, 'pixel-values': { type: 'string' }, 'input-ids': { type: 'string' }, 'attention-mask': { type: 'string' }, out: { type: 'string' }, batch: { type: 'string' }, 'allow-non-finite': { type: 'boolean' } },
      Flags,
      'features',
    );
    if (!f.out.endsWith('.safetensors')) throw new UsageError(`--out ${f.out}: the output must be a .safetensors file`);
    checkOutput(f.out, { kind: 'file', what: '--out' });
    if (f['input-ids'] != null) {
      await initRuntime();
      const n = await extractTextFeatures({ model: f.model, inputIds: f['input-ids'], out: f.out, useMask: f['attention-mask'] === 'on', batch: f.batch });
      process.stderr.write(`wrote ${f.out} (${n} sequences)\n`);
      return;
    }
    const n = await extractFeatures({ model: f.model, images: f.images, pixelValues: f['pixel-values'], out: f.out, batch: f.batch, allowNonFinite: f['allow-non-finite'] });
    process.stderr.write(`wrote ${f.out} (${n} inputs)\n`);
  },
};
