/**
 * Which engine runs inference (sampling, decoding, evaluation): `ort` (onnxruntime-node on graphs
 * exported by core's ONNX builder; CUDA where its provider is installed) or `tfjs` (the tensor
 * backend of runtime/). Chosen by option, else `RAEV2_ENGINE`, else `ort`: measured faster on every
 * inference workload of `npm run bench` (sampling, decoder). Training always runs on tfjs; with the
 * ort engine its large matrix products (forward and backward) run on onnxruntime's GEMM
 * (runtime/ort_matmul.ts), with tfjs every product stays on the tensor backend.
 */
import { z } from 'zod';

export const ENGINES = ['ort', 'tfjs'] as const;
export type EngineName = (typeof ENGINES)[number];
export const EngineSchema = z.enum(ENGINES);

/** The default when neither an option nor `RAEV2_ENGINE` says otherwise. */
export const DEFAULT_ENGINE: EngineName = 'ort';

/** Resolve the engine: option (e.g. an `--engine` flag), else `RAEV2_ENGINE`, else the default. */
export function resolveEngine(option?: string): EngineName {
  const raw = option ?? process.env.RAEV2_ENGINE?.trim().toLowerCase();
  if (raw == null || raw === '') return DEFAULT_ENGINE;
  const parsed = EngineSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${option != null ? '--engine' : 'RAEV2_ENGINE'}="${raw}" is not one of ${ENGINES.join(', ')}`);
  return parsed.data;
}

/** One help line for commands that take `--engine`. */
export const ENGINE_HELP = `--engine ort|tfjs   inference engine (default RAEV2_ENGINE, else ${DEFAULT_ENGINE}: onnxruntime, faster; tfjs: the tensor backend)`;
