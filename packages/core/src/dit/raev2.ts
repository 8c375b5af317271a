/**
 * RAEv2 DiT^DH (`DiTwDDTHead` / `DiTwDDTHeadIG` of the RAEv2 release; docs/method.md §2.1),
 * conditioning in context. The forward pass reads here; its layers are in blocks.ts:
 *   cond  : ctx_embedder(cond) → tokens [B, L_c, D] (+ keep-mask → additive attention mask on those keys)
 *   body  : [s_embedder(x_t) (N), t tokens (n_t), condition tokens (L_c)] through L blocks
 *           (RMSNorm, qk-norm attention, 2-D RoPE on image tokens only, SwiGLU; no adaLN)
 *   head  : s = s_projector(SiLU(t_emb + body image tokens)); x_embedder(x_t) at width D_h through
 *           H adaLN-Zero blocks modulated per token by s; final layer RMSNorm + shift/scale(s) + Linear
 *   base  : u = SiLU(t_emb + h_d) after body block d; x̂_base = Linear(modulate(RMSNorm(u), Linear(SiLU(u))))
 */
import { tf, type Tensor } from '../runtime/tf.js';
import { Rng } from '../runtime/rng.js';
import { Module, ModuleList } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { silu } from '../nn/activations.js';
import { Rope } from '../nn/rope.js';
import { GaussianFourierEmbedding } from '../nn/timestep.js';
import { AdaLNBlock, DiTBlock, FinalLayer, LatentPatchEmbed, unpatchifyTokens } from './blocks.js';
import { type Condition, sequenceMask } from './condition.js';
import { createConditionEmbedder, type ConditionEmbedder } from './condition_kinds.js';
import { gridOf, predictionOf, type RAEv2DiTConfig } from './config.js';
import type { DiTModel, DiTOutput, ForwardOptions } from './model.js';
import { RepaProjector } from './repa.js';

export class RAEv2DiT extends Module implements DiTModel {
  readonly prediction: 'x' | 'velocity';
  readonly grid: [number, number];
  readonly inChannels: number;
  readonly sEmbedder: LatentPatchEmbed;
  readonly xEmbedder: LatentPatchEmbed;
  readonly sProjector: Linear | null;
  readonly tEmbedder: GaussianFourierEmbedding;
  readonly ctxEmbedder: ConditionEmbedder;
  readonly blocks: ModuleList<DiTBlock>;
  readonly finalLayer: FinalLayer;
  readonly encRope: Rope;
  readonly decRope: Rope;
  readonly baseFinalLayer: FinalLayer | null;
  readonly repaProjector: RepaProjector | null;

  /** Build from a parsed config; `seed` drives every initialiser. */
  constructor(readonly config: RAEv2DiTConfig, seed = 0) {
    super();
    const rng = new Rng(seed);
    const c = config;
    const [gh, gw] = (this.grid = gridOf(c));
    this.inChannels = c.inChannels;
    this.prediction = predictionOf(c);
    const [d, dh] = c.hiddenSize;
    const [ps, px] = c.patchSize;
    const [hb, hh] = c.numHeads;

    this.sEmbedder = this.child('s_embedder', new LatentPatchEmbed(c.inChannels, d, ps, gh, gw, rng));
    this.xEmbedder = this.child('x_embedder', new LatentPatchEmbed(c.inChannels, dh, px, gh, gw, rng));
    this.sProjector = d !== dh ? this.child('s_projector', new Linear(d, dh, { rng })) : null;
    this.tEmbedder = this.child('t_embedder', new GaussianFourierEmbedding(d, { numTokens: c.numTimeTokens, rng }));
    this.ctxEmbedder = this.child('ctx_embedder', createConditionEmbedder(c.condition, d, rng, { numCondTokens: c.numCondTokens }));
    const blocks: DiTBlock[] = [];
    for (let i = 0; i < c.depth[0]; i++) blocks.push(new DiTBlock(d, hb, { flavour: 'raev2', mlpRatio: c.mlpRatio, qkNorm: true, rng }));
    for (let i = 0; i < c.depth[1]; i++) blocks.push(new AdaLNBlock(dh, hh, { flavour: 'raev2', mlpRatio: c.mlpRatio, qkNorm: true, rng }));
    this.blocks = this.child('blocks', new ModuleList(blocks));
    this.finalLayer = this.child('final_layer', new FinalLayer(dh, px * px * c.inChannels, 'raev2'));
    const condPositions = [...new Array<number>(c.numTimeTokens).fill(-1), ...(this.ctxEmbedder.ropePositions ?? [])];
    const condRows = Math.max(c.numTimeTokens + c.numCondTokens, condPositions.length);
    this.encRope = this.child('enc_rope', new Rope(d / hb, gh / ps, gw / ps, condRows, c.ropeTheta, condPositions));
    this.decRope = this.child('dec_rope', new Rope(dh / hh, gh / px, gw / px, 0, c.ropeTheta));
    this.baseFinalLayer = c.baseDepth != null ? this.child('base_final_layer', new FinalLayer(d, ps * ps * c.inChannels, 'raev2')) : null;
    this.repaProjector = c.repa != null ? this.child('repa_projector', new RepaProjector(d, c.repa.hidden, c.repa.targetDim, rng)) : null;
  }

  nullCondition(batch: number): Condition {
    if (this.ctxEmbedder.nullCondition == null) throw new Error(`"${this.config.condition.kind}"-conditioned model: its null condition comes from the condition's provider (e.g. the empty prompt), supply it explicitly`);
    return this.ctxEmbedder.nullCondition(batch);
  }

  /** x_t [B, N, C], t [B], cond → {full [B, N, C], base? [B, N, C], repa?}. */
  forward(x: Tensor, t: Tensor, cond: Condition, opts: ForwardOptions = {}): DiTOutput {
    const c = this.config;
    const [gh, gw] = this.grid;
    const [ps, px] = c.patchSize;
    if (x.rank !== 3 || x.shape[1] !== gh * gw || x.shape[2] !== c.inChannels) {
      throw new Error(`DiT input must be tokens [B, ${gh * gw}, ${c.inChannels}], got [${x.shape}]`);
    }
    return tf.tidy(() => {
      const n = this.sEmbedder.numPatches;
      const tEmb = this.tEmbedder.embed(t.reshape([-1])); // [B, D]
      const ctx = this.ctxEmbedder.embed(cond); // [B, L_c, D] (+ keep-mask [B, L_c])
      let seq = tf.concat([this.sEmbedder.forward(x), this.tEmbedder.tokensFrom(tEmb), ctx.tokens], 1);
      const mask = sequenceMask(seq.shape[1] as number, ctx.mask);
      const imageTokens = (s: Tensor) => s.slice([0, 0, 0], [-1, n, -1]);
      let hBase: Tensor | null = null;
      let repa: Tensor | undefined;
      for (let i = 0; i < c.depth[0]; i++) {
        seq = this.blocks.at(i).forward(seq, this.encRope, mask);
        if (i + 1 === c.baseDepth) hBase = imageTokens(seq);
        if (opts.repa && this.repaProjector && i + 1 === c.repa!.depth) repa = this.repaProjector.forward(imageTokens(seq));
      }
      const tTok = tEmb.expandDims(1);
      let s = silu(tTok.add(imageTokens(seq)));
      if (this.sProjector) s = this.sProjector.forward(s); // [B, n, D_h]: per-token head condition
      let h = this.xEmbedder.forward(x);
      for (let i = 0; i < c.depth[1]; i++) h = (this.blocks.at(c.depth[0] + i) as AdaLNBlock).forward(h, this.decRope, null, s);
      const full = unpatchifyTokens(this.finalLayer.forward(h, s), gh, gw, px, c.inChannels);
      const out: DiTOutput = { full };
      if (this.baseFinalLayer && hBase) {
        const u = silu(tTok.add(hBase));
        out.base = unpatchifyTokens(this.baseFinalLayer.forward(u, u), gh, gw, ps, c.inChannels);
      }
      if (repa) out.repa = repa;
      return out as unknown as Record<string, Tensor>;
    }) as unknown as DiTOutput;
  }
}
