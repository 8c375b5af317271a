/**
 * The built-in encoders, registered in core's registry when @raev2/encoders is imported: the
 * published ViT checkpoints by their RAEv2-style names (loaded from a local HF folder, the HF cache,
 * or the Hub when online), `hf:<folder-or-id>` for any HF folder, `onnx:<file-or-folder>` for ONNX
 * exports with hidden-state outputs, and the offline nsfwjs CNNs.
 */
import { registerEncoder, type Encoder, type LayerSelection, type SpecOptions } from '@raev2/core';
import { createNsfwjsEncoder, MOBILENET_V2_STAGES, INCEPTION_V3_STAGES } from './cnn/index.js';
import { loadOnnxEncoder } from './onnx/load.js';
import { checkOptions, type EncoderDefaults, type GlobalTermDefault } from './spec.js';
import { loadHFEncoder } from './hf/load.js';

/**
 * Global-term default by HF model type: the authors' multi-layer DINOv3 and SigLIP-2 encoders add the
 * token-mean of the deepest selected block, so a multi-block selection of these families does too.
 */
export const GLOBAL_TERM_BY_MODEL_TYPE: Record<string, GlobalTermDefault> = { dinov3_vit: 'multi-layer', siglip2_vision_model: 'multi-layer' };

/** A multi-layer preset under the authors' name: its default blocks and global-term rule. */
interface MultiLayerPreset {
  layers: number[];
  globalTerm: GlobalTermDefault;
}

/** Load an HF-format encoder (folder or hub id); options: `res=<px>`, `preprocess=resize|processor`. */
async function loadHFEncoderFor(folderOrId: string, name: string, options: SpecOptions, preset?: MultiLayerPreset): Promise<Encoder> {
  checkOptions(name, options, ['preprocess']);
  const pre = options.preprocess;
  if (pre !== undefined && pre !== 'resize' && pre !== 'processor') throw new Error(`encoder '${name}': preprocess=${String(pre)} must be resize or processor`);
  const enc = await loadHFEncoder(folderOrId, { name, imageSize: options.res === undefined ? undefined : Number(options.res), preprocess: pre });
  const defaults: EncoderDefaults = { globalTerm: preset?.globalTerm ?? GLOBAL_TERM_BY_MODEL_TYPE[enc.model.modelType] ?? 'never' };
  // the preset's blocks apply when a spec names none (resolveSelection checks them against the depth)
  if (preset) defaults.defaultSelection = { layers: preset.layers } satisfies LayerSelection;
  return Object.assign(enc, defaults);
}

/** RAEv2-style name → Hugging Face hub id, with a one-line description. */
export const HF_ENCODERS: Record<string, { id: string; description: string }> = {};

function hf(name: string, id: string, description: string): void {
  HF_ENCODERS[name] = { id, description };
}

const DINOV2_SIZES = { s: 'small', b: 'base', l: 'large', g: 'giant' } as const;
for (const [k, size] of Object.entries(DINOV2_SIZES)) {
  hf(`dinov2-vit-${k}14`, `facebook/dinov2-${size}`, `DINOv2 ViT-${k.toUpperCase()}/14`);
  hf(`dinov2-vit-${k}14reg`, `facebook/dinov2-with-registers-${size}`, `DINOv2 ViT-${k.toUpperCase()}/14 with 4 registers`);
}
for (const [arch, label] of [['s16', 'S'], ['s16plus', 'S+'], ['b16', 'B'], ['l16', 'L'], ['h16plus', 'H+']]) {
  hf(`dinov3-vit-${arch}`, `facebook/dinov3-vit${arch}-pretrain-lvd1689m`, `DINOv3 ViT-${label}/16 (LVD-1689M)`);
}
for (const r of [224, 256, 384, 512]) hf(`siglip2-vit-b16-${r}`, `google/siglip2-base-patch16-${r}`, `SigLIP-2 ViT-B/16 at ${r} px`);
for (const r of [256, 384, 512]) hf(`siglip2-vit-l16-${r}`, `google/siglip2-large-patch16-${r}`, `SigLIP-2 ViT-L/16 at ${r} px`);
for (const r of [224, 384]) hf(`siglip2-vit-so400m14-${r}`, `google/siglip2-so400m-patch14-${r}`, `SigLIP-2 So400m/14 at ${r} px`);
for (const r of [256, 384, 512]) hf(`siglip2-vit-so400m16-${r}`, `google/siglip2-so400m-patch16-${r}`, `SigLIP-2 So400m/16 at ${r} px`);
for (const r of [224, 256, 384, 512]) hf(`siglip-vit-b16-${r}`, `google/siglip-base-patch16-${r}`, `SigLIP ViT-B/16 at ${r} px`);
for (const r of [256, 384]) hf(`siglip-vit-l16-${r}`, `google/siglip-large-patch16-${r}`, `SigLIP ViT-L/16 at ${r} px`);
hf('siglip-vit-so400m14-384', 'google/siglip-so400m-patch14-384', 'SigLIP So400m/14 at 384 px');
hf('mae-vit-b16', 'facebook/vit-mae-base', 'MAE ViT-B/16');
hf('mae-vit-l16', 'facebook/vit-mae-large', 'MAE ViT-L/16');
hf('mae-vit-h14', 'facebook/vit-mae-huge', 'MAE ViT-H/14 (the released huge model uses 14-px patches)');
hf('clip-vit-b16', 'openai/clip-vit-base-patch16', 'CLIP ViT-B/16');
hf('clip-vit-b32', 'openai/clip-vit-base-patch32', 'CLIP ViT-B/32');
hf('clip-vit-l14', 'openai/clip-vit-large-patch14', 'CLIP ViT-L/14');
hf('clip-vit-l14-336', 'openai/clip-vit-large-patch14-336', 'CLIP ViT-L/14 at 336 px');

for (const [name, { id, description }] of Object.entries(HF_ENCODERS)) {
  registerEncoder(name, (n, options) => loadHFEncoderFor(id, n, options), `${description} — ${id} (local folder, HF cache or Hub)`);
}

/**
 * The authors' multi-layer encoders by their published names (`<family>mls-vit-<size>`, "multi-layer
 * simple add"): the same checkpoints as above, with the authors' default blocks when a spec names none,
 * and their global term (DINOv3 and SigLIP-2 add it, DINOv2 does not). So
 * `dinov3mls-vit-l16[layers=11.13.15.17.19.21.23]` gives the same latent as `dinov3-vit-l16[layers=11.13.15.17.19.21.23]`.
 */
export const MULTI_LAYER_PRESETS: Record<string, { id: string; description: string } & MultiLayerPreset> = {};

function mls(name: string, id: string, layers: number[], globalTerm: GlobalTermDefault, description: string): void {
  MULTI_LAYER_PRESETS[name] = { id, layers, globalTerm, description };
}
for (const [k, size] of Object.entries(DINOV2_SIZES)) {
  mls(`dinov2mls-vit-${k}`, `facebook/dinov2-with-registers-${size}`, k === 'l' ? [5, 11, 17, 23] : k === 'g' ? [10, 20, 30, 39] : [2, 5, 8, 11], 'never', `DINOv2 ViT-${k.toUpperCase()}/14 with registers, multi-layer`);
}
for (const [arch, layers] of [['s16', [2, 5, 8, 11]], ['s16plus', [2, 5, 8, 11]], ['b16', [2, 5, 8, 11]], ['l16', [5, 11, 17, 23]], ['h16plus', [8, 16, 24, 31]]] as const) {
  mls(`dinov3mls-vit-${arch}`, HF_ENCODERS[`dinov3-vit-${arch}`].id, [...layers], 'always', `${HF_ENCODERS[`dinov3-vit-${arch}`].description}, multi-layer + global term`);
}
for (const [k, id, layers] of [['b', 'google/siglip2-base-patch16-256', [2, 5, 8, 11]], ['l', 'google/siglip2-large-patch16-256', [5, 11, 17, 23]], ['so400m', 'google/siglip2-so400m-patch16-256', [5, 12, 19, 26]], ['g', 'google/siglip2-giant-opt-patch16-256', [10, 20, 30, 39]]] as const) {
  mls(`siglip2mls-vit-${k}`, id, [...layers], 'always', `SigLIP-2 ${k} at 256 px, multi-layer + global term`);
}
for (const [name, p] of Object.entries(MULTI_LAYER_PRESETS)) {
  registerEncoder(name, (n, options) => loadHFEncoderFor(p.id, n, options, p), `${p.description} (default layers ${p.layers.join('.')}) — ${p.id} (local folder, HF cache or Hub)`);
}

registerEncoder(
  'hf*',
  (name, options) => {
    if (!name.startsWith('hf:') || name.length === 3) throw new Error(`'${name}': write hf:<folder-or-hub-id>, e.g. hf:./models/dinov2-small or hf:facebook/dinov2-small`);
    return loadHFEncoderFor(name.slice(3), name, options);
  },
  'hf:<folder-or-hub-id> — any Hugging Face model folder of a supported family (dinov2, dinov3, siglip, siglip2, vit_mae, clip)',
);

registerEncoder(
  'onnx*',
  (name, options): Promise<Encoder> => {
    if (!name.startsWith('onnx:') || name.length === 5) throw new Error(`'${name}': write onnx:<file.onnx or folder>`);
    return loadOnnxEncoder(name.slice(5), options, name);
  },
  'onnx:<file-or-folder> — an ONNX vision model with hidden_states.N outputs, run by onnxruntime-node (options: patch, prefix, eps, mean, std, res, input, threads)',
);

const stages = (list: { id: string; description: string }[]): string => list.map((s) => `${s.id} (${s.description})`).join('; ');
registerEncoder(
  'mobilenetv2-nsfwjs',
  (name, options: SpecOptions) => createNsfwjsEncoder('mobilenetv2', name, options),
  `offline pretrained MobileNetV2 from the nsfwjs package, 224 px; stage=${stages(MOBILENET_V2_STAGES)}; default stage 10-12, all its blocks`,
);
registerEncoder(
  'inceptionv3-nsfwjs',
  (name, options: SpecOptions) => createNsfwjsEncoder('inceptionv3', name, options),
  `offline pretrained InceptionV3 from the nsfwjs package, 272 px latent (299 px network input); stage=${stages(INCEPTION_V3_STAGES)}; default mixed4-7`,
);
