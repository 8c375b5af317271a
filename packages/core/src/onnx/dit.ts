/**
 * DiT^DH as an ONNX graph (both variants of dit/: RAEv2 in-context with the base head, and RAE v1
 * adaLN-Zero), built from a loaded model. Guidance stays outside the graph: the graph returns the
 * full prediction and, with a base head, the base prediction, so every guidance wrapper of
 * sampling/guidance.ts composes with it unchanged (docs/method.md, "free guidance").
 *   inputs : x [batch, N, C] float32, t [batch] float32, and the condition —
 *            labels [batch] int32 (class models) or tokens [batch, L, C_ctx] + mask [batch, L] float32
 *   outputs: full [batch, N, C], base [batch, N, C] (RAEv2 with a base head)
 */
import type { Tensor } from '../runtime/tf.js';
import type { DiTModel } from '../dit/model.js';
import { RAEv2DiT } from '../dit/raev2.js';
import { RAEDiT } from '../dit/rae.js';
import { AdaLNBlock, type DiTBlock, type FinalLayer, type LatentPatchEmbed, SwiGLU3 } from '../dit/blocks.js';
import { LabelEmbedder } from '../nn/label_embed.js';
import { SwiGLU } from '../nn/mlp.js';
import type { Rope } from '../nn/rope.js';
import type { GaussianFourierEmbedding } from '../nn/timestep.js';
import type { Module } from '../nn/module.js';
import { RMSNorm } from '../nn/norm.js';
import { Linear } from '../nn/linear.js';
import { OnnxLayers, ropeTailIsIdentity } from './layers.js';

/** Additive mask value of nn/attention.ts keyPaddingMask. */
const NEG = -3.4028234663852886e38;

/** What the exported graph expects and returns. */
export interface DiTOnnxSignature {
  condition: 'labels' | 'tokens';
  hasBase: boolean;
}

/** The token-condition embedder's parts (RMSNorm(D_c) → Linear(D_c → D)), or null for another kind. */
interface TokenEmbedderView {
  contextDim: number;
  norm: RMSNorm;
  proj: Linear;
}
function tokenEmbedder(e: unknown): TokenEmbedderView | null {
  const v = e as Partial<TokenEmbedderView>;
  return typeof v.contextDim === 'number' && v.norm instanceof RMSNorm && v.proj instanceof Linear ? (v as TokenEmbedderView) : null;
}

/** Inputs/outputs of the graph of `model`; throws for a condition kind the exporter does not know. */
export function ditOnnxSignature(model: DiTModel): DiTOnnxSignature {
  if (model instanceof RAEv2DiT) {
    const e = model.ctxEmbedder;
    if (!(e instanceof LabelEmbedder) && tokenEmbedder(e) == null) throw new Error('ONNX export: only class and token conditions are exported (this model has a task-defined condition)');
    return { condition: e instanceof LabelEmbedder ? 'labels' : 'tokens', hasBase: model.baseFinalLayer != null };
  }
  if (model instanceof RAEDiT) return { condition: 'labels', hasBase: false };
  throw new Error('ONNX export: unknown DiT class (RAEv2DiT or RAEDiT expected)');
}

function buffer(m: Module, name: string): Tensor {
  const b = m.namedBuffers().find(([k]) => k === name);
  if (b == null) throw new Error(`ONNX export: module has no buffer '${name}'`);
  return b[1];
}

class DiTExporter {
  readonly L: OnnxLayers;
  constructor(readonly model: RAEv2DiT | RAEDiT) {
    this.L = new OnnxLayers('dit', [model]);
  }

  /** t [B] → t_emb [B, D] (Gaussian-Fourier features → MLP). */
  timeEmbedding(t: string, te: GaussianFourierEmbedding): string {
    const { g } = this.L;
    const w = buffer(te, 'W');
    const a = g.node('Mul', [g.node('Mul', [g.node('Mul', [this.L.unsqueeze1(t), this.L.weight(w, [1, w.shape[0]])]), this.L.scalar(2)]), this.L.scalar(Math.PI)]);
    const feats = g.node('Concat', [g.node('Sin', [a]), g.node('Cos', [a])], { axis: -1 });
    return this.L.linear(this.L.silu(this.L.linear(feats, te.mlp.fc1)), te.mlp.fc2);
  }

  /** tokens [B, h·w, C] → [B, n, D] */
  patchEmbed(x: string, pe: LatentPatchEmbed): string {
    const p = pe.patch, c = pe.inChannels;
    let rows = x;
    if (p > 1) {
      const h = pe.gridH / p, w = pe.gridW / p;
      rows = this.L.reshape(this.L.g.node('Transpose', [this.L.reshape(x, [0, h, p, w, p, c])], { perm: [0, 1, 3, 5, 2, 4] }), [0, h * w, c * p * p]);
    }
    return this.L.matmulT(rows, pe.proj.weight, pe.dim, c * p * p, pe.proj.bias);
  }

  /** [B, n, p·p·C] → tokens [B, h·w, C] */
  unpatchify(x: string, p: number): string {
    if (p === 1) return x;
    const [gh, gw] = this.model.grid, c = this.model.inChannels;
    const h = gh / p, w = gw / p;
    return this.L.reshape(this.L.g.node('Transpose', [this.L.reshape(x, [0, h, w, p, p, c])], { perm: [0, 1, 3, 2, 4, 5] }), [0, gh * gw, c]);
  }

  /** Attention of a block on normalised x [B, S, D]. */
  attention(x: string, block: DiTBlock, rope: { r: Rope; rows: number; seqLen: number | null } | null, mask: string | null): string {
    const L = this.L, a = block.attn, dh = a.headDim;
    let q: string, k: string, v: string;
    if (a.qkv) [q, k, v] = L.split(L.linear(x, a.qkv), 3).map((t) => L.splitHeads(t, a.heads, dh));
    else [q, k, v] = [a.q!, a.k!, a.v!].map((l) => L.splitHeads(L.linear(x, l), a.heads, dh));
    if (a.qNorm) q = L.rmsNorm(q, a.qNorm.weight, a.qNorm.eps);
    if (a.kNorm) k = L.rmsNorm(k, a.kNorm.weight, a.kNorm.eps);
    if (rope) {
      const cos = buffer(rope.r, 'freqs_cos'), sin = buffer(rope.r, 'freqs_sin');
      q = L.rope(q, cos, sin, rope.rows, rope.seqLen);
      k = L.rope(k, cos, sin, rope.rows, rope.seqLen);
    }
    return L.linear(L.mergeHeads(L.attention(q, k, v, dh, mask), a.dim), a.proj);
  }

  mlp(x: string, block: DiTBlock): string {
    const L = this.L, m = block.mlp;
    if (m instanceof SwiGLU3) return L.linear(L.g.node('Mul', [L.silu(L.linear(x, m.w1)), L.linear(x, m.w2)]), m.w3);
    if (m instanceof SwiGLU) {
      const [x1, x2] = L.split(L.linear(x, m.w12), 2);
      return L.linear(L.g.node('Mul', [L.silu(x1), x2]), m.w3);
    }
    throw new Error('ONNX export: unknown DiT MLP');
  }

  /** A body/head block; `c` ([B, D] per sample or [B, N, D] per token) for adaLN blocks. */
  block(x: string, block: DiTBlock, rope: Parameters<DiTExporter['attention']>[2], mask: string | null, c: string | null, perSample: boolean): string {
    const { g } = this.L, L = this.L;
    const n1 = (h: string) => L.rmsNorm(h, block.norm1.weight, block.norm1.eps);
    const n2 = (h: string) => L.rmsNorm(h, block.norm2.weight, block.norm2.eps);
    if (!(block instanceof AdaLNBlock)) {
      const h = g.node('Add', [x, this.attention(n1(x), block, rope, mask)]);
      return g.node('Add', [h, this.mlp(n2(h), block)]);
    }
    if (c == null) throw new Error('ONNX export: adaLN block without a condition');
    let chunks = L.split(L.linear(L.silu(c), block.modulation.linear), 6);
    if (perSample) chunks = chunks.map((t) => L.unsqueeze1(t));
    const [shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp] = chunks;
    const h = g.node('Add', [x, g.node('Mul', [this.attention(L.modulate(n1(x), shiftMsa, scaleMsa), block, rope, mask), gateMsa])]);
    return g.node('Add', [h, g.node('Mul', [this.mlp(L.modulate(n2(h), shiftMlp, scaleMlp), block), gateMlp])]);
  }

  finalLayer(x: string, fl: FinalLayer, c: string): string {
    const L = this.L;
    const [shift, scale] = L.split(L.linear(L.silu(c), fl.modulation.linear), 2);
    return L.linear(L.modulate(L.rmsNorm(x, fl.norm.weight, fl.norm.eps), shift, scale), fl.linear);
  }

  build(): Uint8Array {
    const m = this.model, L = this.L, { g } = L;
    const sig = ditOnnxSignature(m);
    const [gh, gw] = m.grid, C = m.inChannels, N = gh * gw;
    const x = g.input('x', ['batch', N, C]);
    const t = g.input('t', ['batch']);
    const tEmb = this.timeEmbedding(t, m.tEmbedder); // [B, D]
    const tTok = L.unsqueeze1(tEmb); // [B, 1, D]
    let full: string, base: string | null = null;
    if (m instanceof RAEv2DiT) {
      const c = m.config;
      const n = m.sEmbedder.numPatches;
      const timeTokens = g.node('Add', [L.weight(m.tEmbedder.learnableTokens!, [1, c.numTimeTokens, c.hiddenSize[0]]), tTok]);
      let condTokens: string, mask: string | null = null, seqLen: number | null;
      if (m.ctxEmbedder instanceof LabelEmbedder) {
        const labels = g.input('labels', ['batch'], 'int32');
        const emb = g.node('Gather', [L.weight(m.ctxEmbedder.embeddingTable.weight), labels], { axis: 0 });
        condTokens = g.node('Add', [L.weight(m.ctxEmbedder.learnableTokens!, [1, c.numCondTokens, c.hiddenSize[0]]), L.unsqueeze1(emb)]);
        seqLen = n + c.numTimeTokens + c.numCondTokens;
      } else {
        const e = tokenEmbedder(m.ctxEmbedder)!;
        const tokens = g.input('tokens', ['batch', 'cond_len', e.contextDim]);
        const keep = g.input('mask', ['batch', 'cond_len']);
        condTokens = L.linear(L.rmsNorm(tokens, e.norm.weight, e.norm.eps), e.proj);
        const drop = g.node('Mul', [g.node('Sub', [L.scalar(1), keep]), L.scalar(NEG)]); // [B, L]
        const padded = g.node('Pad', [drop, g.int64Tensor([0, n + c.numTimeTokens, 0, 0]), L.scalar(0)]);
        mask = L.reshape(padded, [0, 1, 1, -1]);
        seqLen = null;
      }
      const encCos = buffer(m.encRope, 'freqs_cos'), encSin = buffer(m.encRope, 'freqs_sin');
      if (!ropeTailIsIdentity(encCos, encSin, n)) throw new Error('ONNX export: the RoPE table rotates condition tokens (expected angle 0 after the image rows)');
      let seq = g.node('Concat', [this.patchEmbed(x, m.sEmbedder), timeTokens, condTokens], { axis: 1 });
      let hBase: string | null = null;
      for (let i = 0; i < c.depth[0]; i++) {
        seq = this.block(seq, m.blocks.at(i), { r: m.encRope, rows: n, seqLen }, mask, null, false);
        if (i + 1 === c.baseDepth) hBase = L.slice(seq, 1, 0, n);
      }
      let s = L.silu(g.node('Add', [tTok, L.slice(seq, 1, 0, n)]));
      if (m.sProjector) s = L.linear(s, m.sProjector);
      let h = this.patchEmbed(x, m.xEmbedder);
      const nh = m.xEmbedder.numPatches;
      for (let i = 0; i < c.depth[1]; i++) h = this.block(h, m.blocks.at(c.depth[0] + i), { r: m.decRope, rows: nh, seqLen: nh }, null, s, false);
      full = this.unpatchify(this.finalLayer(h, m.finalLayer, s), c.patchSize[1]);
      if (m.baseFinalLayer && hBase) {
        const u = L.silu(g.node('Add', [tTok, hBase]));
        base = this.unpatchify(this.finalLayer(u, m.baseFinalLayer, u), c.patchSize[0]);
      }
    } else {
      const c = m.config;
      const labels = g.input('labels', ['batch'], 'int32');
      const yEmb = g.node('Gather', [L.weight(m.yEmbedder.embeddingTable.weight), labels], { axis: 0 });
      const cVec = L.silu(g.node('Add', [tEmb, yEmb])); // [B, D]
      let s = this.patchEmbed(x, m.sEmbedder);
      if (c.posEmbed) s = g.node('Add', [s, L.weight(buffer(m, 'pos_embed'))]);
      const n = m.sEmbedder.numPatches;
      const rope = (r: Rope | null) => (r ? { r, rows: n, seqLen: n } : null);
      for (let i = 0; i < c.depth[0]; i++) s = this.block(s, m.blocks.at(i), rope(m.encRope), null, cVec, true);
      s = L.silu(g.node('Add', [tTok, s]));
      if (m.sProjector) s = L.linear(s, m.sProjector);
      let h = this.patchEmbed(x, m.xEmbedder);
      for (let i = 0; i < c.depth[1]; i++) h = this.block(h, m.blocks.at(c.depth[0] + i), rope(m.decRope), null, s, false);
      full = this.unpatchify(this.finalLayer(h, m.finalLayer, s), c.patchSize);
    }
    g.output(g.node('Identity', [full], {}, 'full'), ['batch', N, C]);
    if (sig.hasBase && base) g.output(g.node('Identity', [base], {}, 'base'), ['batch', N, C]);
    return g.build();
  }
}

/** ModelProto bytes of a DiT^DH (its current weights; call on the EMA copy for sampling). */
export function buildDiTOnnx(model: DiTModel): Uint8Array {
  if (!(model instanceof RAEv2DiT) && !(model instanceof RAEDiT)) throw new Error('ONNX export: unknown DiT class (RAEv2DiT or RAEDiT expected)');
  return new DiTExporter(model).build();
}
