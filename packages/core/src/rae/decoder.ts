/**
 * The RAE pixel decoder (docs/method.md, decoder): RAE's `GeneralDecoder`, an MAE-style ViT decoder.
 * latent [B, N, C] → decoder_embed → (resize tokens to the decoder grid) → [CLS; tokens] + fixed sin-cos
 * → L pre-LN ViT-MAE layers → decoder_norm → decoder_pred → drop CLS → logits [B, N, p·p·3] → unpatchify.
 * Key names follow upstream (`decoder_layers.0.attention.attention.query.weight`, …) so RAE checkpoints load.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { tf, type Tensor, type Variable } from '../runtime/tf.js';
import { Rng } from '../runtime/rng.js';
import { Module, ModuleList } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { LayerNorm } from '../nn/norm.js';
import { activation } from '../nn/activations.js';
import { scaledDotProductAttention, splitHeads, mergeHeads } from '../nn/attention.js';
import { sincos2d } from '../nn/posembed.js';
import { unpatchify } from '../nn/patch.js';
import { loadSafetensors } from '../io/safetensors.js';
import { readJsonFile } from '../util/config.js';
import { bilinearResizeTokens } from './interp.js';

const posInt = z.number().int().positive();

/** ViTMAEConfig-style decoder config (the fields RAE reads; other ViTMAEConfig keys are accepted and ignored). */
export const DecoderConfigSchema = z
  .object({
    /** Latent channels C (RAE sets the ViTMAEConfig `hidden_size` to the encoder width). */
    hidden_size: posInt,
    decoder_hidden_size: posInt,
    decoder_num_hidden_layers: posInt,
    decoder_num_attention_heads: posInt,
    decoder_intermediate_size: posInt,
    patch_size: posInt,
    num_channels: posInt.default(3),
    layer_norm_eps: z.number().positive().default(1e-12),
    hidden_act: z.string().default('gelu'),
    qkv_bias: z.boolean().default(true),
    initializer_range: z.number().positive().default(0.02),
    /** Decoder tokens N (upstream: a square grid of √N × √N). */
    num_patches: posInt.optional(),
    /** Upstream derives num_patches = (image_size / patch_size)² when it is not given. */
    image_size: posInt.optional(),
    /** Our extension: a non-square decoder grid [rows, cols] (num_patches = rows·cols). */
    grid: z.tuple([posInt, posInt]).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.decoder_hidden_size % c.decoder_num_attention_heads !== 0) {
      ctx.addIssue({ code: 'custom', path: ['decoder_num_attention_heads'], message: `decoder_hidden_size ${c.decoder_hidden_size} is not divisible by ${c.decoder_num_attention_heads} heads` });
    }
    if (c.decoder_hidden_size % 4 !== 0) ctx.addIssue({ code: 'custom', path: ['decoder_hidden_size'], message: 'must be divisible by 4 (2-D sin-cos position embedding)' });
    if (c.num_patches == null && c.grid == null && c.image_size == null) ctx.addIssue({ code: 'custom', path: ['num_patches'], message: 'give num_patches, grid or image_size' });
  });

export type DecoderConfigInput = z.input<typeof DecoderConfigSchema>;
export type DecoderConfig = z.output<typeof DecoderConfigSchema>;

/** Decoder grid [rows, cols]: `grid`, else √num_patches (square, as upstream), else image_size / patch_size. */
export function decoderGrid(cfg: DecoderConfig): [number, number] {
  if (cfg.grid) {
    if (cfg.num_patches != null && cfg.num_patches !== cfg.grid[0] * cfg.grid[1]) throw new Error(`decoder config: grid ${cfg.grid.join('×')} disagrees with num_patches ${cfg.num_patches}`);
    return cfg.grid;
  }
  const n = cfg.num_patches ?? (cfg.image_size! / cfg.patch_size) ** 2;
  const s = Math.round(Math.sqrt(n));
  if (s * s !== n) throw new Error(`decoder config: num_patches ${n} is not a square; give "grid": [rows, cols]`);
  return [s, s];
}

/** Width, depth, heads, MLP width of the named sizes (docs/method.md, decoder; `tiny` is our CPU size). */
export const DECODER_PRESETS = {
  tiny: { decoder_hidden_size: 128, decoder_num_hidden_layers: 4, decoder_num_attention_heads: 4, decoder_intermediate_size: 512 },
  S: { decoder_hidden_size: 384, decoder_num_hidden_layers: 12, decoder_num_attention_heads: 6, decoder_intermediate_size: 1536 },
  B: { decoder_hidden_size: 768, decoder_num_hidden_layers: 12, decoder_num_attention_heads: 12, decoder_intermediate_size: 3072 },
  L: { decoder_hidden_size: 1024, decoder_num_hidden_layers: 24, decoder_num_attention_heads: 16, decoder_intermediate_size: 4096 },
  XL: { decoder_hidden_size: 1152, decoder_num_hidden_layers: 28, decoder_num_attention_heads: 16, decoder_intermediate_size: 4096 },
} as const;
export type DecoderPreset = keyof typeof DECODER_PRESETS;

/** A preset config for a latent of `latentChannels` channels on a `grid` of tokens, `patchSize` pixels per token. */
export function decoderConfig(preset: DecoderPreset, latentChannels: number, grid: [number, number], patchSize = 16, overrides: Partial<DecoderConfigInput> = {}): DecoderConfig {
  const p = DECODER_PRESETS[preset];
  if (p == null) throw new Error(`unknown decoder preset "${preset}" (known: ${Object.keys(DECODER_PRESETS).join(', ')})`);
  return DecoderConfigSchema.parse({ ...p, hidden_size: latentChannels, patch_size: patchSize, num_patches: grid[0] * grid[1], grid, ...overrides });
}

/** A module that only groups named children (upstream's nesting like `attention.output.dense`). */
class Group extends Module {
  constructor(children: Record<string, Module>) {
    super();
    for (const [k, m] of Object.entries(children)) this.child(k, m);
  }
}

/** ViT-MAE layer: x + attn(LN(x)); x + MLP(LN(x)). */
class DecoderLayer extends Module {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly attnOut: Linear;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly ln1: LayerNorm;
  readonly ln2: LayerNorm;
  private readonly act: (x: Tensor) => Tensor;

  constructor(private readonly cfg: DecoderConfig, rng: Rng) {
    super();
    const d = cfg.decoder_hidden_size, m = cfg.decoder_intermediate_size;
    const lin = (i: number, o: number, bias = true) => new Linear(i, o, { rng, bias, init: 'torch' });
    this.query = lin(d, d, cfg.qkv_bias);
    this.key = lin(d, d, cfg.qkv_bias);
    this.value = lin(d, d, cfg.qkv_bias);
    this.attnOut = lin(d, d);
    this.fc1 = lin(d, m);
    this.fc2 = lin(m, d);
    this.child('attention', new Group({ attention: new Group({ query: this.query, key: this.key, value: this.value }), output: new Group({ dense: this.attnOut }) }));
    this.child('intermediate', new Group({ dense: this.fc1 }));
    this.child('output', new Group({ dense: this.fc2 }));
    this.ln1 = this.child('layernorm_before', new LayerNorm(d, cfg.layer_norm_eps));
    this.ln2 = this.child('layernorm_after', new LayerNorm(d, cfg.layer_norm_eps));
    this.act = activation(cfg.hidden_act);
  }

  /** [B, T, D] → [B, T, D] */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const heads = this.cfg.decoder_num_attention_heads;
      const h = this.ln1.forward(x);
      const q = splitHeads(this.query.forward(h), heads);
      const k = splitHeads(this.key.forward(h), heads);
      const v = splitHeads(this.value.forward(h), heads);
      const x1 = x.add(this.attnOut.forward(mergeHeads(scaledDotProductAttention(q, k, v))));
      return x1.add(this.fc2.forward(this.act(this.fc1.forward(this.ln2.forward(x1)))));
    });
  }
}

export interface DecoderOutput {
  /** Per-patch pixels [B, N_dec, p·p·channels], rows ordered (patch row, patch col, channel). */
  logits: Tensor;
  /** Inputs of every layer and the output of the last (before decoder_norm), each [B, 1 + N_dec, D]; only when asked. */
  hiddenStates?: Tensor[];
}

export interface DecoderForwardOptions {
  /** Grid of the input latent tokens when it differs from the decoder grid and is not square. */
  latentGrid?: [number, number];
  outputHiddenStates?: boolean;
}

/** RAE's GeneralDecoder. */
export class GeneralDecoder extends Module {
  readonly config: DecoderConfig;
  readonly grid: [number, number];
  readonly numPatches: number;
  readonly decoderEmbed: Linear;
  readonly clsToken: Variable;
  readonly layers: ModuleList<DecoderLayer>;
  readonly norm: LayerNorm;
  readonly pred: Linear;

  constructor(config: DecoderConfigInput, opts: { rng?: Rng } = {}) {
    super();
    const cfg = DecoderConfigSchema.parse(config);
    this.config = cfg;
    this.grid = decoderGrid(cfg);
    this.numPatches = this.grid[0] * this.grid[1];
    const rng = opts.rng ?? new Rng(0);
    const d = cfg.decoder_hidden_size;
    // init as upstream (plain nn.Module, no init hook): PyTorch-default linears, LayerNorm (1, 0), zero CLS, fixed sin-cos table
    this.decoderEmbed = this.child('decoder_embed', new Linear(cfg.hidden_size, d, { rng, init: 'torch' }));
    this.clsToken = this.param('trainable_cls_token', tf.zeros([1, 1, d]));
    this.buffer('decoder_pos_embed', sincos2d(d, this.grid[0], this.grid[1], true));
    this.layers = this.child('decoder_layers', new ModuleList(Array.from({ length: cfg.decoder_num_hidden_layers }, () => new DecoderLayer(cfg, rng))));
    this.norm = this.child('decoder_norm', new LayerNorm(d, cfg.layer_norm_eps));
    const out = cfg.patch_size * cfg.patch_size * cfg.num_channels;
    this.pred = this.child('decoder_pred', new Linear(d, out, { rng, init: 'torch' }));
  }

  /** Output image size [H, W] = grid · patch. */
  get imageSize(): [number, number] {
    return [this.grid[0] * this.config.patch_size, this.grid[1] * this.config.patch_size];
  }

  /** latent [B, N, C] → logits [B, N_dec, p·p·3] (+ hidden states when asked). */
  forward(latent: Tensor, opts: DecoderForwardOptions = {}): DecoderOutput {
    const [b, n, c] = latent.shape;
    if (c !== this.config.hidden_size) throw new Error(`decoder expects latent channels ${this.config.hidden_size}, got [${latent.shape}]`);
    const hidden: Tensor[] = [];
    const logits = tf.tidy(() => {
      let x = this.decoderEmbed.forward(latent); // [B, N, D]
      if (n !== this.numPatches) x = bilinearResizeTokens(x, opts.latentGrid ?? squareGrid(n), this.grid);
      const cls = this.clsToken.tile([b, 1, 1]);
      x = tf.concat([cls, x], 1).add(this.getBuffer('decoder_pos_embed')); // [B, 1+N, D]
      for (const layer of this.layers) {
        if (opts.outputHiddenStates) hidden.push(tf.keep(x));
        x = layer.forward(x);
      }
      if (opts.outputHiddenStates) hidden.push(tf.keep(x));
      const y = this.pred.forward(this.norm.forward(x));
      return y.slice([0, 1, 0], [-1, -1, -1]); // drop CLS
    });
    return opts.outputHiddenStates ? { logits, hiddenStates: hidden } : { logits };
  }

  /** logits [B, N_dec, p·p·3] → image NHWC [B, H, W, 3] in the encoder's normalised pixel space. */
  unpatchify(logits: Tensor): Tensor {
    return unpatchify(logits, this.grid[0], this.grid[1], this.config.patch_size, this.config.num_channels);
  }

  /** latent [B, N, C] → image NHWC [B, gh·p, gw·p, 3] (normalised pixel space). */
  decode(latent: Tensor, opts: Omit<DecoderForwardOptions, 'outputHiddenStates'> = {}): Tensor {
    return tf.tidy(() => this.unpatchify(this.forward(latent, opts).logits));
  }
}

function squareGrid(n: number): [number, number] {
  const s = Math.round(Math.sqrt(n));
  if (s * s !== n) throw new Error(`latent has ${n} tokens, not a square grid: pass latentGrid`);
  return [s, s];
}

/**
 * Load a decoder from a folder with `config.json` (ViTMAEConfig-style) and `model.safetensors`
 * (upstream key names, strict), or from explicit files.
 */
export function loadDecoder(dirOrConfig: string, weightsFile?: string): GeneralDecoder {
  const isDir = fs.existsSync(dirOrConfig) && fs.statSync(dirOrConfig).isDirectory();
  const cfgFile = isDir ? path.join(dirOrConfig, 'config.json') : dirOrConfig;
  const wFile = weightsFile ?? path.join(isDir ? dirOrConfig : path.dirname(dirOrConfig), 'model.safetensors');
  const cfg = readJsonFile(DecoderConfigSchema, cfgFile);
  const dec = new GeneralDecoder(cfg);
  const sd = loadSafetensors(wFile);
  try {
    dec.loadStateDict(sd, { source: wFile });
  } catch (e) {
    dec.dispose();
    throw e;
  } finally {
    for (const t of sd.values()) t.dispose();
  }
  return dec;
}
