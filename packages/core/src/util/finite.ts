/**
 * The non-finite guard: checks that tensors (weights, optimiser state, inputs, outputs) hold only
 * finite numbers, so NaN/Inf never reach a checkpoint or a result file silently.
 *
 * "Finite" for weights and optimiser state is stricter than `Number.isFinite`: a float32 value
 * whose square overflows (|x| > √FLT_MAX ≈ 1.8e19) turns the next Adam second moment, norm or
 * matmul into Inf, so a checkpoint holding it cannot be resumed (e.g. `--lr 1e30` gives weights
 * ≈ 5e29 after one step). Those count as non-finite there (`bound: FLOAT32_SQUARE_SAFE`).
 */
import { tf, type Tensor } from '../runtime/tf.js';

/** Largest float32 magnitude whose square is still finite in float32. */
export const FLOAT32_SQUARE_SAFE = Math.sqrt(3.4028234663852886e38);

/** One tensor that failed the check. */
export interface NonFiniteEntry {
  name: string;
  /** Elements that are NaN, ±Inf or beyond the bound. */
  bad: number;
  size: number;
}

/** A non-finite value where only finite ones are allowed; the message names the tensors. */
export class NonFiniteError extends Error {
  constructor(message: string, readonly entries: NonFiniteEntry[]) {
    super(message);
    this.name = 'NonFiniteError';
  }
}

export interface FiniteOptions {
  /** Magnitudes above this also fail (default Infinity: only NaN and ±Inf fail). */
  bound?: number;
}

/** Float tensors of `tensors` (by name) holding NaN, ±Inf or values beyond `bound`; one device read for all. */
export function findNonFinite(tensors: Iterable<[string, Tensor]>, opts: FiniteOptions = {}): NonFiniteEntry[] {
  const bound = opts.bound ?? Infinity;
  const floats = [...tensors].filter(([, t]) => t.dtype === 'float32' && t.size > 0);
  if (floats.length === 0) return [];
  const counts = tf.tidy(() =>
    tf.stack(
      floats.map(([, t]) => {
        let bad = tf.logicalNot(tf.isFinite(t));
        if (Number.isFinite(bound)) bad = tf.logicalOr(bad, tf.greater(tf.abs(t), bound));
        return bad.cast('float32').sum();
      }),
    ),
  );
  const n = counts.dataSync();
  counts.dispose();
  const out: NonFiniteEntry[] = [];
  floats.forEach(([name, t], i) => {
    if (n[i] > 0) out.push({ name, bad: n[i], size: t.size });
  });
  return out;
}

/** Entries of a host array that are NaN, ±Inf or beyond `bound`. */
export function countNonFinite(data: ArrayLike<number>, bound = Infinity): number {
  let bad = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!(Math.abs(v) <= bound)) bad++; // NaN fails every comparison
  }
  return bad;
}

/** "a (3 of 10), b (10 of 10)", at most five names. */
export function describeNonFinite(entries: NonFiniteEntry[]): string {
  const shown = entries.slice(0, 5).map((e) => `${e.name} (${e.bad} of ${e.size})`);
  return shown.join(', ') + (entries.length > 5 ? ` and ${entries.length - 5} more` : '');
}

/**
 * Throw a NonFiniteError (`what`: e.g. "checkpoint at step 3", "--pixel-values x.safetensors")
 * when any float tensor of `tensors` fails the check; with `warn: true` print a warning instead
 * and return the failing entries.
 */
export function assertFinite(tensors: Iterable<[string, Tensor]>, what: string, opts: FiniteOptions & { warn?: boolean; hint?: string } = {}): NonFiniteEntry[] {
  const bad = findNonFinite(tensors, opts);
  if (bad.length === 0) return bad;
  const limit = opts.bound != null && Number.isFinite(opts.bound) ? `NaN, Inf or |x| > ${opts.bound.toExponential(2)}` : 'NaN or Inf';
  const msg = `${what}: non-finite values (${limit}) in ${describeNonFinite(bad)}${opts.hint ? ` — ${opts.hint}` : ''}`;
  if (opts.warn) {
    process.stderr.write(`warning: ${msg}\n`);
    return bad;
  }
  throw new NonFiniteError(msg, bad);
}
