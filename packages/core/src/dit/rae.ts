/**
 * RAE (v1) DiT^DH (`DiTwDDTHead` of the RAE release), adaLN-Zero conditioning:
 *   c    = SiLU(t_emb + y_emb)                                 [B, D]
 *   body : s_embedder(x_t) + sin-cos pos_embed through L adaLN blocks (6 chunks from c), 2-D RoPE
 *   head : s = s_projector(SiLU(t_emb + body tokens)); x_embedder(x_t) through H adaLN blocks
 *          modulated per token by s; final layer RMSNorm + shift/scale(s) + Linear → velocity
 */
import { tf, type Tensor } from '../runtime/tf.js';
import { Rng } from '../runtime/rng.js';
import { Module, ModuleList } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { silu } from '../nn/activations.js';
import { Rope } from '../nn/rope.js';
import { sincos2d } from '../nn/posembed.js';
import { GaussianFourierEmbedding } from '../nn/timestep.js';
import { LabelEmbedder } from '../nn/label_embed.js';
import { AdaLNBlock, FinalLayer, LatentPatchEmbed, unpatchifyTokens } from './blocks.js';
import type { Condition } from './condition.js';
import { gridOf, predictionOf, type RAEDiTConfig } from './config.js';
import type { DiTModel, DiTOutput } from './model.js';

export class RAEDiT extends Module implements DiTModel {
  readonly prediction: 'x' | 'velocity';
  readonly grid: [number, number];
  readonly inChannels: number;
  readonly sEmbedder: LatentPatchEmbed;
  readonly xEmbedder: LatentPatchEmbed;
  readonly sProjector: Linear | null;
  readonly tEmbedder: GaussianFourierEmbedding;
  readonly yEmbedder: LabelEmbedder;
  readonly blocks: ModuleList<AdaLNBlock>;
  readonly finalLayer: FinalLayer;
  readonly encRope: Rope | null;
  readonly decRope: Rope | null;

  constructor(readonly config: RAEDiTConfig, seed = 0) {
    super();
    const rng = new Rng(seed);
    const c = config;
    const [gh, gw] = (this.grid = gridOf(c));
    this.inChannels = c.inChannels;
    this.prediction = predictionOf(c);
    const [d, dh] = c.hiddenSize;
    const [hb, hh] = c.numHeads;
    const p = c.patchSize;

    this.xEmbedder = this.child('x_embedder', new LatentPatchEmbed(c.inChannels, dh, p, gh, gw, rng));
    this.sEmbedder = this.child('s_embedder', new LatentPatchEmbed(c.inChannels, d, p, gh, gw, rng));
    this.sProjector = d !== dh ? this.child('s_projector', new Linear(d, dh, { rng })) : null;
    this.tEmbedder = this.child('t_embedder', new GaussianFourierEmbedding(d, { rng }));
    this.yEmbedder = this.child('y_embedder', new LabelEmbedder(c.numClasses, d, { nullClass: c.nullClass, rng }));
    this.finalLayer = this.child('final_layer', new FinalLayer(dh, p * p * c.inChannels, 'rae'));
    // fixed (frozen) sin-cos table: a buffer, saved in the state dict like upstream's frozen parameter
    if (c.posEmbed) this.buffer('pos_embed', sincos2d(d, gh / p, gw / p));
    this.encRope = c.rope ? this.child('enc_feat_rope', new Rope(d / hb, gh / p, gw / p, 0, c.ropeTheta)) : null;
    this.decRope = c.rope ? this.child('dec_feat_rope', new Rope(dh / hh, gh / p, gw / p, 0, c.ropeTheta)) : null;
    const blocks: AdaLNBlock[] = [];
    for (let i = 0; i < c.depth[0]; i++) blocks.push(new AdaLNBlock(d, hb, { flavour: 'rae', mlpRatio: c.mlpRatio, qkNorm: c.qkNorm, rng }));
    for (let i = 0; i < c.depth[1]; i++) blocks.push(new AdaLNBlock(dh, hh, { flavour: 'rae', mlpRatio: c.mlpRatio, qkNorm: c.qkNorm, rng }));
    this.blocks = this.child('blocks', new ModuleList(blocks));
  }

  nullCondition(batch: number): Condition {
    if (this.yEmbedder.nullClass < 0) throw new Error('this model has no null class (nullClass: false)');
    return { labels: tf.fill([batch], this.yEmbedder.nullClass, 'int32') };
  }

  /** x_t [B, N, C], t [B], cond.labels [B] → {full: velocity [B, N, C]}. */
  forward(x: Tensor, t: Tensor, cond: Condition): DiTOutput {
    const c = this.config;
    const [gh, gw] = this.grid;
    if (x.rank !== 3 || x.shape[1] !== gh * gw || x.shape[2] !== c.inChannels) {
      throw new Error(`DiT input must be tokens [B, ${gh * gw}, ${c.inChannels}], got [${x.shape}]`);
    }
    if (cond.labels == null) throw new Error('RAE DiT is label-conditioned: pass cond.labels [B]');
    const labels = cond.labels;
    return tf.tidy(() => {
      const tEmb = this.tEmbedder.embed(t.reshape([-1])); // [B, D]
      const cVec = silu(tEmb.add(this.yEmbedder.lookup(labels))); // [B, D]
      let s = this.sEmbedder.forward(x);
      if (c.posEmbed) s = s.add(this.getBuffer('pos_embed'));
      for (let i = 0; i < c.depth[0]; i++) s = this.blocks.at(i).forward(s, this.encRope, null, cVec);
      s = silu(tEmb.expandDims(1).add(s));
      if (this.sProjector) s = this.sProjector.forward(s); // [B, n, D_h]
      let h = this.xEmbedder.forward(x);
      for (let i = 0; i < c.depth[1]; i++) h = this.blocks.at(c.depth[0] + i).forward(h, this.decRope, null, s);
      const full = unpatchifyTokens(this.finalLayer.forward(h, s), gh, gw, c.patchSize, c.inChannels);
      return { full } as unknown as Record<string, Tensor>;
    }) as unknown as DiTOutput;
  }
}
