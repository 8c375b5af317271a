/** Tokenizers and the TextEncoder interface for text conditioning. */
export { loadTokenizer, batchTensors, canonicalizeSiglipText, type TextTokenizer, type TokenizeOptions, type TokenBatch } from './tokenizer.js';
export { loadSiglipTextEncoder, siglipTextEncoder, disposeTextEncoding, type TextEncoder, type TextEncoding, type SiglipTextEncoderOptions } from './text_encoder.js';
