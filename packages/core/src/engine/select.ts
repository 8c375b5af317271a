/**
 * The one call a command makes for `--engine`: the network evaluation for generateLatents /
 * evaluateGeneration (`denoiser`, undefined = the tfjs model itself) and the decoder (`decode`),
 * each on the chosen engine. A model the exporter cannot handle (a task-defined condition kind, a
 * latent grid the decoder resizes) stays on tfjs with one line saying so; nothing else changes.
 */
import type { Tensor } from '../runtime/tf.js';
import type { DiTModel } from '../dit/model.js';
import type { RAE } from '../rae/rae.js';
import type { Denoiser } from '../sampling/denoiser.js';
import type { EngineName } from './engine.js';
import { ortDenoiser, type OrtModelOptions } from './denoiser.js';
import { ortRaeDecode } from './decoder.js';

export interface EngineDenoiser {
  /** Pass as generateLatents' `denoiser` option; undefined on tfjs. */
  denoiser: Denoiser | undefined;
  /** What runs it, for logs: 'tfjs', 'ort (cpu)', 'ort (cuda)'. */
  label: string;
  release(): void;
}

const log = (line: string) => process.stderr.write(`[raev2] ${line}\n`);

/** The DiT's network evaluation on `engine` (the graph cached in `opts.cacheDir`, beside the checkpoint). */
export function engineDenoiser(engine: EngineName, model: DiTModel, opts: OrtModelOptions = {}): EngineDenoiser {
  if (engine === 'tfjs') return { denoiser: undefined, label: 'tfjs', release: () => {} };
  try {
    const o = ortDenoiser(model, opts);
    return { denoiser: o.denoiser, label: `ort (${o.provider})`, release: o.release };
  } catch (e) {
    log(`onnxruntime cannot run this DiT (${(e as Error).message.split('\n')[0]}); sampling on tfjs`);
    return { denoiser: undefined, label: 'tfjs', release: () => {} };
  }
}

export interface EngineDecoder {
  /** Standardised latents [B, N, C] → images NHWC in [0, 1] space (not clamped), like RAE.decode. */
  decode(latent: Tensor): Tensor;
  label: string;
  release(): void;
}

/** The RAE's decode on `engine` (the graph cached in `opts.cacheDir`, beside the decoder checkpoint). */
export function engineDecoder(engine: EngineName, rae: RAE, opts: OrtModelOptions = {}): EngineDecoder {
  const tfjs: EngineDecoder = { decode: (z) => rae.decode(z), label: 'tfjs', release: () => {} };
  if (engine === 'tfjs') return tfjs;
  try {
    const o = ortRaeDecode(rae, opts);
    return { decode: o.decode, label: `ort (${o.provider})`, release: o.release };
  } catch (e) {
    log(`onnxruntime cannot run this decoder (${(e as Error).message.split('\n')[0]}); decoding on tfjs`);
    return tfjs;
  }
}
