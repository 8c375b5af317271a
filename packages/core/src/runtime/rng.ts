/**
 * Seeded randomness, generated in JS so the same seed gives the same numbers on every backend.
 * xoshiro128** for bits, Box–Muller for normals. The state is 4 uint32 and can be checkpointed.
 */
import { tf, type Tensor } from './tf.js';

function splitmix32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A seeded generator with checkpointable state. */
export class Rng {
  private s: Uint32Array;

  constructor(seed: number | readonly number[] = 0) {
    if (typeof seed === 'number') {
      const sm = splitmix32(seed);
      this.s = new Uint32Array([sm(), sm(), sm(), sm()]);
    } else {
      if (seed.length !== 4) throw new Error(`Rng state must have 4 uint32 values, got ${seed.length}`);
      this.s = Uint32Array.from(seed);
    }
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
  }

  /** Next raw uint32. */
  nextU32(): number {
    const s = this.s;
    const r = Math.imul(((Math.imul(s[1], 5) << 7) | (Math.imul(s[1], 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ((s[3] << 11) | (s[3] >>> 21)) >>> 0;
    return r;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  random(): number {
    return this.nextU32() / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  /** Standard normal (Box–Muller; no cached spare, so state() captures everything). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.random());
  }

  uniformArray(n: number, lo = 0, hi = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * this.random();
    return out;
  }

  normalArray(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** Tensor of N(mean, std²) draws. */
  randn(shape: number[], mean = 0, std = 1): Tensor {
    return tf.tensor(this.normalArray(shape.reduce((a, b) => a * b, 1), mean, std), shape, 'float32');
  }

  /** Tensor of U(lo, hi) draws. */
  rand(shape: number[], lo = 0, hi = 1): Tensor {
    return tf.tensor(this.uniformArray(shape.reduce((a, b) => a * b, 1), lo, hi), shape, 'float32');
  }

  /** Fisher–Yates permutation of 0..n-1. */
  permutation(n: number): number[] {
    const p = [...Array(n).keys()];
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  }

  /** A child generator whose stream is independent of this one's future draws. */
  fork(): Rng {
    return new Rng([this.nextU32(), this.nextU32(), this.nextU32(), this.nextU32()]);
  }

  /** Checkpointable state. */
  state(): number[] {
    return Array.from(this.s);
  }

  setState(state: readonly number[]): void {
    this.s = new Rng(state).s;
  }
}
