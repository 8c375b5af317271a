/**
 * The text-conditioning interface for text-to-image (packages/t2i): captions → token features,
 * a padding mask and a pooled vector. The SigLIP / SigLIP-2 implementation pairs a model folder's
 * tokenizer with its text tower.
 */
import { tf, type Tensor } from '@raev2/core';
import { loadTokenizer, batchTensors, type TextTokenizer, type TokenizeOptions } from './tokenizer.js';
import { siglipTextFromFolder } from '../siglip/load.js';
import { openModelFolder, resolveModelFolder } from '../hf/folder.js';
import type { HubOptions } from '../hf/hub.js';
import type { SiglipTextModel } from '../siglip/text.js';

export interface TextEncoding {
  /** Last hidden state [B, L, D] (after the final norm). */
  tokens: Tensor;
  /** [B, L] float32, 1 = real token, 0 = padding. */
  mask: Tensor;
  /** Pooled text embedding [B, P] (SigLIP: head on the last position). */
  pooled: Tensor;
}

export interface TextEncoder {
  readonly name: string;
  /** Token feature width D. */
  readonly hiddenSize: number;
  /** Pooled width P. */
  readonly pooledSize: number;
  /** Sequence length L of every encoding (fixed-length padding). */
  readonly maxLength: number;
  encode(texts: string[]): TextEncoding;
  dispose(): void;
}

export function disposeTextEncoding(e: TextEncoding): void {
  e.tokens.dispose();
  e.mask.dispose();
  e.pooled.dispose();
}

export interface SiglipTextEncoderOptions extends TokenizeOptions {
  /**
   * Pass the padding mask into the text tower's attention. Off by default: SigLIP was trained
   * attending to pad tokens and pools the last (pad) position, so that is its canonical use.
   */
  maskPadding?: boolean;
}

/** A TextEncoder over a tokenizer and a SigLIP text tower (takes ownership of the model). */
export function siglipTextEncoder(name: string, tokenizer: TextTokenizer, model: SiglipTextModel, opts: SiglipTextEncoderOptions = {}): TextEncoder {
  const maxLength = opts.maxLength ?? tokenizer.defaults.maxLength;
  const positions = model.config.max_position_embeddings;
  if (maxLength > positions) throw new Error(`${name}: maxLength ${maxLength} exceeds the text tower's max_position_embeddings ${positions}`);
  const tokOpts: TokenizeOptions = { ...opts, maxLength, padding: 'max_length' };
  return {
    name,
    hiddenSize: model.config.hidden_size,
    pooledSize: model.config.projection_size,
    maxLength,
    encode(texts) {
      const { inputIds, attentionMask } = batchTensors(tokenizer.tokenize(texts, tokOpts));
      try {
        const out = model.forward(inputIds, opts.maskPadding ? attentionMask : null);
        for (const h of out.hiddenStates) h.dispose();
        return { tokens: out.lastHiddenState, mask: tf.cast(attentionMask, 'float32'), pooled: out.poolerOutput };
      } finally {
        inputIds.dispose();
        attentionMask.dispose();
      }
    },
    dispose: () => model.dispose(),
  };
}

/**
 * Load a SigLIP / SigLIP-2 text encoder from an HF folder or Hub id holding the text tower's weights
 * (a stand-alone text model or a combined `siglip`/`siglip2` checkpoint) and its tokenizer files.
 */
export async function loadSiglipTextEncoder(folderOrId: string, opts: SiglipTextEncoderOptions & HubOptions = {}): Promise<TextEncoder> {
  const dir = await resolveModelFolder(folderOrId, { ...opts, extraFiles: [...(opts.extraFiles ?? []), 'tokenizer.json', 'tokenizer_config.json'] });
  const model = siglipTextFromFolder(openModelFolder(dir, folderOrId));
  try {
    // Both SigLIP generations were trained on lower-cased text, but SigLIP-2's hub tokenizer is a plain Gemma one.
    const tokenizer = await loadTokenizer(dir, { lowercase: true, ...opts });
    return siglipTextEncoder(folderOrId, tokenizer, model, opts);
  } catch (e) {
    model.dispose();
    throw e;
  }
}

