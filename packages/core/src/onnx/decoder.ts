/**
 * The RAE pixel decoder (rae/decoder.ts, RAE's GeneralDecoder) as an ONNX graph:
 *   latent [batch, N, C] → decoder_embed → [CLS; tokens] + sin-cos table → L pre-LN ViT-MAE layers
 *   → decoder_norm → decoder_pred → drop CLS → unpatchify → image [batch, H, W, channels] (NHWC,
 *   the encoder's normalised pixel space, as GeneralDecoder.decode returns it).
 * The latent grid must equal the decoder grid (the bilinear token resize is not exported).
 */
import type { Tensor } from '../runtime/tf.js';
import type { GeneralDecoder } from '../rae/decoder.js';
import type { Linear } from '../nn/linear.js';
import type { LayerNorm } from '../nn/norm.js';
import { OnnxLayers } from './layers.js';

interface DecoderLayerView {
  query: Linear;
  key: Linear;
  value: Linear;
  attnOut: Linear;
  fc1: Linear;
  fc2: Linear;
  ln1: LayerNorm;
  ln2: LayerNorm;
}

function posEmbed(dec: GeneralDecoder): Tensor {
  const b = dec.namedBuffers().find(([k]) => k === 'decoder_pos_embed');
  if (b == null) throw new Error('ONNX export: decoder has no decoder_pos_embed buffer');
  return b[1];
}

/** ModelProto bytes of `decoder` (input `latent`, output `image`). */
export function buildDecoderOnnx(dec: GeneralDecoder): Uint8Array {
  const L = new OnnxLayers('rae_decoder', [dec]);
  const { g } = L;
  const cfg = dec.config;
  const [gh, gw] = dec.grid, n = gh * gw, d = cfg.decoder_hidden_size, heads = cfg.decoder_num_attention_heads, dh = d / heads;
  const p = cfg.patch_size, ch = cfg.num_channels;
  const ln = (x: string, norm: LayerNorm) => L.layerNorm(x, norm.weight!, norm.bias, norm.eps);
  const latent = g.input('latent', ['batch', n, cfg.hidden_size]);
  const x0 = L.linear(latent, dec.decoderEmbed); // [B, N, D]
  const batch = g.node('Shape', [latent], { start: 0, end: 1 });
  const cls = g.node('Expand', [L.weight(dec.clsToken), g.node('Concat', [batch, g.int64Tensor([1, d])], { axis: 0 })]);
  let x = g.node('Add', [g.node('Concat', [cls, x0], { axis: 1 }), L.weight(posEmbed(dec))]); // [B, 1+N, D]
  for (const layer of dec.layers) {
    const l = layer as unknown as DecoderLayerView;
    const h = ln(x, l.ln1);
    const [q, k, v] = [l.query, l.key, l.value].map((lin) => L.splitHeads(L.linear(h, lin), heads, dh));
    const x1 = g.node('Add', [x, L.linear(L.mergeHeads(L.attention(q, k, v, dh, null), d), l.attnOut)]);
    x = g.node('Add', [x1, L.linear(L.activation(L.linear(ln(x1, l.ln2), l.fc1), cfg.hidden_act), l.fc2)]);
  }
  const logits = L.slice(L.linear(ln(x, dec.norm), dec.pred), 1, 1, 1 + n); // [B, N, p·p·ch]
  const image = L.reshape(g.node('Transpose', [L.reshape(logits, [0, gh, gw, p, p, ch])], { perm: [0, 1, 3, 2, 4, 5] }), [0, gh * p, gw * p, ch]);
  g.output(g.node('Identity', [image], {}, 'image'), ['batch', gh * p, gw * p, ch]);
  return g.build();
}
