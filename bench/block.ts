/**
 * One pre-LN transformer block (x + attn(LN(x)), then x + MLP(LN(x)), MLP ratio 4, GELU) on
 * [B, N, D] tokens: forward, and forward + backward + AdamW step, as GFLOP/s. FLOPs are counted
 * analytically from the matmuls: 2·M·N·K each; the training step counts 3× the forward.
 */
import { tf, Rng, Module, Linear, LayerNorm, Mlp, gelu, splitHeads, mergeHeads, scaledDotProductAttention, AdamW, valueAndGrads, disposeGrads, type Tensor } from '@raev2/core';
import type { BenchContext } from './context.js';
import { medianMs, gflops, fmt } from './timing.js';
import type { Table } from './table.js';

export interface BlockCase {
  dim: number;
  heads: number;
  tokens: number;
  batch: number;
}

export interface BlockResult extends BlockCase {
  forward: number;
  train: number;
}

/** Pre-LN transformer block with fused qkv. */
class Block extends Module {
  readonly norm1: LayerNorm;
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly norm2: LayerNorm;
  readonly mlp: Mlp;
  constructor(dim: number, readonly heads: number, rng: Rng) {
    super();
    this.norm1 = this.child('norm1', new LayerNorm(dim, 1e-6));
    this.qkv = this.child('attn.qkv', new Linear(dim, 3 * dim, { rng }));
    this.proj = this.child('attn.proj', new Linear(dim, dim, { rng }));
    this.norm2 = this.child('norm2', new LayerNorm(dim, 1e-6));
    this.mlp = this.child('mlp', new Mlp(dim, 4 * dim, gelu, { rng }));
  }

  /** x [B, N, D] → [B, N, D] */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [q, k, v] = tf.split(this.qkv.forward(this.norm1.forward(x)), 3, -1).map((t) => splitHeads(t, this.heads));
      const h = x.add(this.proj.forward(mergeHeads(scaledDotProductAttention(q, k, v))));
      return h.add(this.mlp.forward(this.norm2.forward(h)));
    });
  }
}

/** Forward FLOPs: 24·D² per token in the linears + 4·N²·D per sample in q·kᵀ and p·v. */
export function blockFlops(c: BlockCase): number {
  return c.batch * c.tokens * 24 * c.dim * c.dim + 4 * c.batch * c.tokens * c.tokens * c.dim;
}

export function blockCases(smoke: boolean): BlockCase[] {
  return smoke
    ? [{ dim: 32, heads: 2, tokens: 16, batch: 2 }]
    : [{ dim: 384, heads: 6, tokens: 256, batch: 4 }, { dim: 768, heads: 12, tokens: 256, batch: 4 }];
}

export async function benchBlock(ctx: BenchContext): Promise<{ table: Table; results: BlockResult[] }> {
  await tf.setBackend(ctx.backend);
  const results: BlockResult[] = [];
  for (const c of blockCases(ctx.smoke)) {
    ctx.log(`block D=${c.dim} heads=${c.heads} N=${c.tokens} B=${c.batch}`);
    const rng = new Rng(1);
    const block = new Block(c.dim, c.heads, rng);
    const x = rng.randn([c.batch, c.tokens, c.dim]);
    const flops = blockFlops(c);
    const fwdMs = await medianMs(() => {
      const y = block.forward(x);
      y.dataSync();
      y.dispose();
    }, ctx.timing(flops));
    const params = block.namedParameters();
    const opt = new AdamW(params, { lr: 1e-4, betas: [0.9, 0.999], weightDecay: 0.01 });
    const trainMs = await medianMs(() => {
      const { grads } = valueAndGrads(() => block.forward(x).square().mean() as tf.Scalar, params);
      opt.step(grads);
      disposeGrads(grads);
      params[0][1].dataSync(); // wait for the update (async backends)
    }, ctx.timing(3 * flops));
    opt.dispose();
    block.dispose();
    x.dispose();
    results.push({ ...c, forward: gflops(flops, fwdMs), train: gflops(3 * flops, trainMs) });
  }
  const table: Table = {
    title: `transformer block on ${ctx.backend} (GFLOP/s, median)`,
    headers: ['D / heads, B×N', 'GFLOP fwd', 'forward', 'fwd+bwd+AdamW'],
    rows: results.map((r) => [`${r.dim} / ${r.heads}, ${r.batch}×${r.tokens}`, fmt(blockFlops(r) / 1e9, 2), fmt(r.forward), fmt(r.train)]),
    notes: ['FLOPs: 2·M·N·K per matmul; fwd+bwd counted as 3× forward; the AdamW update is timed but not counted'],
  };
  return { table, results };
}
