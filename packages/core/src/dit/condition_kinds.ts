/**
 * The RAEv2 DiT^DH's in-context condition embedder (`ctx_embedder`) and the registry of condition
 * kinds (docs/method.md §2.1): an embedder maps a Condition to tokens
 * [B, L_c, D] that are concatenated after the image and time tokens (zero RoPE angles), with an
 * optional keep-mask [B, L_c] that becomes an additive attention mask on those key columns.
 *
 * Core registers two kinds:
 *  - `class`  {numClasses}: learned tokens [n_c, D] + the label's embedding row (null class = numClasses);
 *  - `tokens` {dim}: RMSNorm(D_c) then Linear(D_c → D) on cond.tokens [B, L, D_c], mask = cond.mask.
 * A task package registers its own kind (a zod schema of its params and a factory) before it
 * builds or loads a model whose config names that kind.
 */
import { z } from 'zod';
import { tf, type Tensor } from '../runtime/tf.js';
import type { Rng } from '../runtime/rng.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { RMSNorm } from '../nn/norm.js';
import { LabelEmbedder } from '../nn/label_embed.js';
import { parseWith } from '../util/config.js';
import type { Condition } from './condition.js';

/** A Condition → in-context tokens [B, L_c, D] (+ keep-mask [B, L_c], 1 keep, 0 padding). */
export interface ConditionEmbedder extends Module {
  embed(cond: Condition): { tokens: Tensor; mask?: Tensor };
  /** The null condition for B rows, when the kind has a built-in one (class: the null class). */
  nullCondition?(batch: number): Condition;
  /**
   * Per condition token, the image-grid index (row-major) whose 2-D RoPE angles it takes, or −1 for
   * angle 0 (the default for every token when absent: docs/method.md §2.1).
   */
  readonly ropePositions?: readonly number[];
}

/** The DiT config's `condition` field: a registered kind and its parameters. */
export type ConditionConfig = { kind: string; [param: string]: unknown };

/** Build-time context a kind may use: the config's in-context condition token count n_c. */
export interface ConditionBuildContext {
  numCondTokens: number;
}

export interface ConditionKind<P extends ConditionConfig = ConditionConfig> {
  /** Validates the whole `condition` object (including `kind`), with defaults. */
  schema: z.ZodType<P>;
  create(params: P, dim: number, rng?: Rng, ctx?: ConditionBuildContext): ConditionEmbedder;
}

const KINDS = new Map<string, ConditionKind>();

/** Register a condition kind (a task package's own condition). Re-registering a kind replaces it. */
export function registerConditionKind<P extends ConditionConfig>(kind: string, def: ConditionKind<P>): void {
  if (!/^[a-z][\w-]*$/.test(kind)) throw new Error(`condition kind "${kind}" must be a lower-case identifier`);
  KINDS.set(kind, def as unknown as ConditionKind);
}

/** Names of the registered condition kinds. */
export function conditionKinds(): string[] {
  return [...KINDS.keys()];
}

function kindOf(kind: string, source: string): ConditionKind {
  const k = KINDS.get(kind);
  if (k == null) throw new Error(`${source}: unknown condition kind "${kind}" (registered: ${conditionKinds().join(', ')}; a task package registers its own kind with registerConditionKind before building the model)`);
  return k;
}

/** The zod schema of a registered kind (throws naming the registered kinds when unknown). */
export function conditionKindSchema(kind: string): z.ZodType<ConditionConfig> {
  return kindOf(kind, 'DiT condition').schema;
}

/** Validate a `condition` config against its kind's schema (errors name the source and field). */
export function parseConditionConfig(value: unknown, source = 'DiT condition'): ConditionConfig {
  const head = parseWith(z.object({ kind: z.string().min(1) }).loose(), value, source);
  return parseWith(kindOf(head.kind, source).schema, value, `${source} (kind "${head.kind}")`);
}

/** The embedder of a (validated) condition config at model width `dim`. */
export function createConditionEmbedder(config: ConditionConfig, dim: number, rng?: Rng, ctx?: ConditionBuildContext): ConditionEmbedder {
  const kind = kindOf(config.kind, 'DiT condition');
  return kind.create(parseWith(kind.schema, config, `DiT condition (kind "${config.kind}")`), dim, rng, ctx);
}

/** `class`: learned tokens + label embedding (keys `embedding_table.weight`, `learnable_tokens`). */
export class ClassConditionEmbedder extends LabelEmbedder implements ConditionEmbedder {
  constructor(numClasses: number, dim: number, numTokens: number, rng?: Rng) {
    super(numClasses, dim, { numTokens, rng });
  }
  /** cond.labels [B] → tokens [B, n_c, D]. */
  embed(cond: Condition): { tokens: Tensor } {
    if (cond.labels == null) throw new Error(`this model is class-conditioned: pass cond.labels [B] (got fields: ${Object.keys(cond).join(', ') || 'none'})`);
    return { tokens: this.tokens(cond.labels) };
  }
  /** The null class for B rows. */
  nullCondition(batch: number): Condition {
    return { labels: tf.fill([batch], this.nullClass, 'int32') };
  }
}

/** `tokens`: `norm` RMSNorm(D_c) then `proj` Linear(D_c → D) (RAEv2 text conditioning); the keep-mask passes through. */
export class TokenConditionEmbedder extends Module implements ConditionEmbedder {
  readonly norm: RMSNorm;
  readonly proj: Linear;
  constructor(readonly contextDim: number, readonly dim: number, rng?: Rng) {
    super();
    this.norm = this.child('norm', new RMSNorm(contextDim));
    this.proj = this.child('proj', new Linear(contextDim, dim, { rng }));
  }
  /** [B, L, D_c] → [B, L, D] */
  forward(tokens: Tensor): Tensor {
    return tf.tidy(() => this.proj.forward(this.norm.forward(tokens)));
  }
  /** cond.tokens [B, L, D_c] (+ cond.mask [B, L]) → tokens [B, L, D], mask [B, L]. */
  embed(cond: Condition): { tokens: Tensor; mask?: Tensor } {
    if (cond.tokens == null) throw new Error('this model is token-conditioned: pass cond.tokens [B, L, D_c] (and cond.mask [B, L])');
    if (cond.tokens.rank !== 3 || cond.tokens.shape[2] !== this.contextDim) throw new Error(`condition tokens have shape [${cond.tokens.shape}], the model expects [B, L, ${this.contextDim}]`);
    const m = cond.mask;
    if (m != null && (m.rank !== 2 || m.shape[0] !== cond.tokens.shape[0] || m.shape[1] !== cond.tokens.shape[1])) throw new Error(`condition mask has shape [${m.shape}], the tokens [${cond.tokens.shape}] need [B, L]`);
    const tokens = this.forward(cond.tokens);
    return m != null ? { tokens, mask: m.clone() } : { tokens };
  }
}

const pos = z.number().int().positive();

export const ClassConditionSchema = z.object({ kind: z.literal('class'), numClasses: pos }).strict();
export const TokenConditionSchema = z.object({ kind: z.literal('tokens'), dim: pos }).strict();

registerConditionKind('class', {
  schema: ClassConditionSchema,
  create: (p, dim, rng, ctx) => new ClassConditionEmbedder(p.numClasses, dim, ctx?.numCondTokens ?? 8, rng),
});
registerConditionKind('tokens', {
  schema: TokenConditionSchema,
  create: (p, dim, rng) => new TokenConditionEmbedder(p.dim, dim, rng),
});
