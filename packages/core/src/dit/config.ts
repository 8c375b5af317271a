/**
 * DiT^DH configuration as zod schemas (types are inferred, never written twice). Two architectures:
 * `raev2` (in-context time/condition tokens, qk-norm, base head, x-prediction) and `rae`
 * (RAE v1: adaLN-Zero body, absolute sin-cos position embedding, velocity prediction).
 * Bad shapes are rejected here, before any tensor is allocated.
 */
import { z } from 'zod';
import { parseWith } from '../util/config.js';
import { conditionKinds, conditionKindSchema, type ConditionConfig } from './condition_kinds.js';

const int = z.number().int();
const pos = int.positive();
const pair = z.tuple([pos, pos]);

const common = {
  /** Latent token grid: side of a square grid, or [h, w]. */
  inputSize: z.union([pos, pair]),
  /** Latent channels C (tokens are [B, h·w, C]). */
  inChannels: pos,
  /** [body width D, head width D_h]. */
  hiddenSize: pair,
  /** [body blocks L, head blocks H]. */
  depth: z.tuple([pos, int.nonnegative()]),
  /** [body heads, head heads]. */
  numHeads: pair,
  mlpRatio: z.number().positive().default(4),
  numClasses: int.nonnegative().default(1000),
  /** What the network outputs; default x for raev2, velocity for rae. */
  prediction: z.enum(['x', 'velocity']).optional(),
  /** RoPE base frequency θ. */
  ropeTheta: z.number().positive().default(10000),
};

export const RAEv2DiTConfigSchema = z.object({
  arch: z.literal('raev2'),
  ...common,
  /** [s-embedder patch, x-embedder patch] on the latent grid (published [1, 1]). */
  patchSize: pair.default([1, 1]),
  /**
   * The in-context condition: a registered kind and its params (`{kind: 'class', numClasses}`,
   * `{kind: 'tokens', dim}`, or a task package's kind). Absent = class with `numClasses`, so
   * configs written before conditions were generic load unchanged (also the old `{type: 'label'}`
   * and `{type: 'tokens', contextDim}` forms).
   */
  condition: z.object({ kind: z.string().min(1) }).loose(),
  /** In-context time tokens n_t. */
  numTimeTokens: pos.default(4),
  /** In-context condition tokens n_c (labels: learned tokens; tokens: the RoPE table's condition rows). */
  numCondTokens: pos.default(8),
  /** Body depth d after which the base head reads the tokens (free guidance); null = no base head. */
  baseDepth: pos.nullable().default(8),
  /** Classic REPA projector (3-layer SiLU MLP) on the tokens after body block `depth`; null = off. */
  repa: z.object({ depth: pos, targetDim: pos, hidden: pos.default(2048) }).nullable().default(null),
});

export const RAEDiTConfigSchema = z.object({
  arch: z.literal('rae'),
  ...common,
  /** Latent patch size (published 1). */
  patchSize: pos.default(1),
  /** Whether the label table has a null-class row (upstream: class_dropout_prob > 0). */
  nullClass: z.boolean().default(true),
  qkNorm: z.boolean().default(false),
  rope: z.boolean().default(true),
  posEmbed: z.boolean().default(true),
});

/** Absent or legacy (`{type: …}`) condition of a raev2 config → `{kind, …}`. */
function normalizeCondition(value: unknown): unknown {
  if (value == null || typeof value !== 'object' || (value as { arch?: unknown }).arch !== 'raev2') return value;
  const v = value as Record<string, unknown>;
  const c = v.condition as Record<string, unknown> | undefined;
  const numClasses = v.numClasses ?? 1000;
  if (c == null) return { ...v, condition: { kind: 'class', numClasses } };
  if (c.kind == null && c.type === 'label' && Object.keys(c).length === 1) return { ...v, condition: { kind: 'class', numClasses } };
  if (c.kind == null && c.type === 'tokens' && Object.keys(c).length === 2 && 'contextDim' in c) return { ...v, condition: { kind: 'tokens', dim: c.contextDim } };
  if (c.kind === 'class' && v.numClasses == null && c.numClasses != null) return { ...v, numClasses: c.numClasses }; // one place to say it
  return value;
}

const DiTConfigUnion = z.discriminatedUnion('arch', [RAEv2DiTConfigSchema, RAEDiTConfigSchema]);

export const DiTConfigSchema = z.preprocess(normalizeCondition, DiTConfigUnion).superRefine((c, ctx) => {
  const bad = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const [gh, gw] = gridOf(c);
  const [ps, px] = c.arch === 'raev2' ? c.patchSize : [c.patchSize, c.patchSize];
  const [d, dh] = c.hiddenSize;
  for (const [i, p] of [ps, px].entries()) {
    if (gh % p !== 0 || gw % p !== 0) bad(['patchSize', i], `latent grid ${gh}×${gw} is not divisible by patch size ${p}`);
  }
  if (d < c.inChannels * ps * ps) bad(['hiddenSize', 0], `body width ${d} is smaller than the latent width per token ${c.inChannels * ps * ps} (DiT^DH needs D ≥ C)`);
  for (const i of [0, 1] as const) {
    const w = c.hiddenSize[i], h = c.numHeads[i];
    if (w % h !== 0) bad(['numHeads', i], `${h} heads do not divide width ${w}`);
    else if ((w / h) % 4 !== 0 && (c.arch === 'raev2' || c.rope)) bad(['numHeads', i], `head dim ${w / h} (width ${w} / ${h} heads) must be divisible by 4 for 2-D RoPE`);
  }
  if (dh <= 0) bad(['hiddenSize', 1], 'head width must be positive');
  if (c.arch === 'raev2') {
    if (c.baseDepth != null && c.baseDepth > c.depth[0]) bad(['baseDepth'], `base head depth ${c.baseDepth} is beyond the body depth ${c.depth[0]}`);
    if (c.repa != null && c.repa.depth > c.depth[0]) bad(['repa', 'depth'], `REPA depth ${c.repa.depth} is beyond the body depth ${c.depth[0]}`);
    if (!conditionKinds().includes(c.condition.kind)) bad(['condition', 'kind'], `unknown condition kind "${c.condition.kind}" (registered: ${conditionKinds().join(', ')}; a task package registers its kind before building the model)`);
    else {
      const r = conditionKindSchema(c.condition.kind).safeParse(c.condition);
      if (!r.success) for (const i of r.error.issues) ctx.addIssue({ code: 'custom', path: ['condition', ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: i.message });
    }
    if (c.condition.kind === 'class' && c.condition.numClasses !== c.numClasses) bad(['condition', 'numClasses'], `${String(c.condition.numClasses)} differs from numClasses ${c.numClasses} (give one, or the same)`);
  }
  if (c.arch === 'rae') {
    if (c.posEmbed && d % 4 !== 0) bad(['hiddenSize', 0], `sin-cos position embedding needs width divisible by 4, got ${d}`);
    if (c.numClasses < 1) bad(['numClasses'], 'RAE v1 is class-conditional: numClasses ≥ 1');
  }
}).transform((c) => {
  if (c.arch !== 'raev2' || !conditionKinds().includes(c.condition.kind)) return c;
  const r = conditionKindSchema(c.condition.kind).safeParse(c.condition);
  return r.success ? { ...c, condition: r.data as ConditionConfig } : c;
});

export type DiTConfig = z.infer<typeof DiTConfigSchema>;
/** What a config may be written as (the condition may be absent: class with numClasses). */
export type DiTConfigInput = DistributiveOmit<z.input<typeof DiTConfigUnion>, 'condition'> & { condition?: ConditionConfig | { type: 'label' } | { type: 'tokens'; contextDim: number } };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type RAEv2DiTConfig = Extract<DiTConfig, { arch: 'raev2' }>;
export type RAEDiTConfig = Extract<DiTConfig, { arch: 'rae' }>;

/** Latent grid [h, w] of a config. */
export function gridOf(c: { inputSize: number | [number, number] }): [number, number] {
  return typeof c.inputSize === 'number' ? [c.inputSize, c.inputSize] : c.inputSize;
}

/** Validate a DiT config (throws naming the source and every bad field). */
export function parseDiTConfig(value: unknown, source = 'DiT config'): DiTConfig {
  return parseWith(DiTConfigSchema, value, source);
}

/** What the network outputs for this config. */
export function predictionOf(c: DiTConfig): 'x' | 'velocity' {
  return c.prediction ?? (c.arch === 'raev2' ? 'x' : 'velocity');
}

const UpstreamSchema = z.object({
  class: z.enum(['DiTwDDTHead', 'DiTwDDTHeadIG']),
  module: z.string().optional(),
  params: z.record(z.string(), z.unknown()),
});

/**
 * Map an upstream constructor-argument record ({class, module, params} as in the reference
 * fixtures' config.json) to our config. `module` containing "stage2/models/DDT.py" with
 * RAEv2 params (cond_arch / condition_type / base_model_depth) selects raev2, else rae.
 */
export function ditConfigFromUpstream(value: unknown, source = 'upstream DiT config'): DiTConfig {
  const u = parseWith(UpstreamSchema, value, source);
  const p = u.params as Record<string, any>;
  const isV2 = u.class === 'DiTwDDTHeadIG' || 'cond_arch' in p || 'condition_type' in p;
  const common = {
    inputSize: p.input_size,
    inChannels: p.in_channels,
    hiddenSize: p.hidden_size,
    depth: p.depth,
    numHeads: typeof p.num_heads === 'number' ? [p.num_heads, p.num_heads] : p.num_heads,
    mlpRatio: p.mlp_ratio,
    numClasses: p.num_classes,
  };
  if (isV2) {
    if (p.condition_type != null && p.condition_type !== 'label' && p.condition_type !== 'text') {
      throw new Error(`${source}: condition_type "${p.condition_type}" is not supported here (label or text; navigation models build their own condition tokens)`);
    }
    if (p.use_cfg_conds) throw new Error(`${source}: use_cfg_conds (CFG-omega tokens) is not supported`);
    const ca = (p.cond_arch ?? {}) as Record<string, number>;
    return parseDiTConfig({
      arch: 'raev2',
      ...common,
      patchSize: typeof p.patch_size === 'number' ? [p.patch_size, p.patch_size] : p.patch_size,
      condition: p.condition_type === 'text' ? { kind: 'tokens', dim: p.context_dim ?? 768 } : { kind: 'class', numClasses: p.num_classes ?? 1000 },
      numTimeTokens: ca.num_t_tokens,
      numCondTokens: ca.num_c_tokens,
      baseDepth: u.class === 'DiTwDDTHeadIG' ? (p.base_model_depth ?? 8) : null,
    }, source);
  }
  const unsupported = [['use_swiglu', false], ['use_rmsnorm', false], ['wo_shift', true]].filter(([k, v]) => p[k as string] === v);
  if (unsupported.length) throw new Error(`${source}: unsupported RAE DiT option(s) ${unsupported.map(([k, v]) => `${k}=${v}`).join(', ')} (only the published SwiGLU + RMSNorm + shift variant is implemented)`);
  const ps = Array.isArray(p.patch_size) ? p.patch_size[0] : p.patch_size;
  return parseDiTConfig({
    arch: 'rae',
    ...common,
    patchSize: ps,
    nullClass: (p.class_dropout_prob ?? 0.1) > 0,
    qkNorm: p.use_qknorm,
    rope: p.use_rope,
    posEmbed: p.use_pos_embed,
  }, source);
}
