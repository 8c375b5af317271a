/** Test helper: random weights, so zero-initialised heads do not make output comparisons vacuous. */
import { Rng, type Module } from '@raev2/core';

/** Every parameter ~ N(0, std²), seeded. */
export function randomize(m: Module, seed: number, std = 0.1): void {
  const rng = new Rng(seed);
  for (const [, v] of m.namedParameters()) {
    const r = rng.randn(v.shape, 0, std);
    v.assign(r);
    r.dispose();
  }
}
