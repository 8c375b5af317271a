/**
 * Checks a tfjs computation against an independent float64 JS forward:
 * - forward values vs the float64 forward;
 * - gradients (w.r.t. inputs and module parameters, from tf.variableGrads) of L = Σ y·r with a
 *   fixed random cotangent r vs central finite differences of the float64 forward;
 * - the same on every test backend, wasm vs cpu within a tight tolerance;
 * - no tensor leaks.
 */
import assert from 'node:assert/strict';
import { tf, Rng, type Tensor, type Module } from '@raev2/core';
import { testBackends, useBackend } from '../../helpers/fixtures.js';

/** A float64 array with a shape (values are float32-representable so both sides see the same numbers). */
export interface Arr { shape: number[]; data: Float64Array }
export type Vals = Record<string, Float64Array>;

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Random float32-representable values N(0, std²) (+ mean) as a float64 array. */
export function randArr(rng: Rng, shape: number[], std = 1, mean = 0): Arr {
  return { shape, data: Float64Array.from(rng.normalArray(size(shape), mean, std)) };
}

export interface CheckSpec {
  name: string;
  /** Builds the module (once per backend); its parameters are overwritten from `params`. */
  make?: () => Module;
  /** State-dict key → value; loaded strictly (with `buffers`), so the keys must be exactly the module's. */
  params?: Record<string, Arr>;
  /** Module buffers (state-dict entries that are not parameters): loaded, not differentiated. */
  buffers?: Record<string, Arr>;
  /** Differentiable inputs. */
  inputs: Record<string, Arr>;
  /** Non-differentiable inputs (masks). */
  consts?: Record<string, Arr>;
  /** tf forward. */
  forward: (m: Module | undefined, x: Record<string, Tensor>) => Tensor;
  /** float64 forward over params, buffers, inputs and consts, flattened in the tf output's row-major order. */
  ref: (v: Vals) => Float64Array;
  fwdTol?: number;
  gradTol?: number;
  /** Finite-difference coordinates checked per tensor (all when the tensor is smaller). */
  fdPerTensor?: number;
  seed?: number;
}

export interface CheckResult { fwdErr: number; gradErr: number; backendErr: number }

interface TfRun { out: Float32Array; shape: number[]; grads: Record<string, Float32Array> }

let varCounter = 0;

function toTensor(a: Arr): Tensor {
  return tf.tensor(Float32Array.from(a.data), a.shape, 'float32');
}

function toVariable(a: Arr, name: string): tf.Variable {
  const t = toTensor(a);
  const v = tf.variable(t, true, name);
  t.dispose();
  return v;
}

async function runTf(spec: CheckSpec, backend: string, cot: Float32Array | null): Promise<TfRun> {
  await useBackend(backend);
  const before = tf.memory().numTensors;
  const m = spec.make?.();
  if (m != null && (spec.params || spec.buffers)) {
    const sd = new Map(Object.entries({ ...spec.params, ...spec.buffers }).map(([k, v]) => [k, toTensor(v)]));
    m.loadStateDict(sd, { source: spec.name });
    tf.dispose([...sd.values()]);
  }
  const inputVars = Object.fromEntries(Object.entries(spec.inputs).map(([k, v]) => [k, toVariable(v, `gradcheck/${spec.name}/${k}/${varCounter++}`)]));
  const consts = Object.fromEntries(Object.entries(spec.consts ?? {}).map(([k, v]) => [k, toTensor(v)]));
  const all = { ...inputVars, ...consts };
  const y = tf.tidy(() => spec.forward(m, all));
  const out = Float32Array.from(y.dataSync());
  const shape = y.shape;
  y.dispose();
  const grads: Record<string, Float32Array> = {};
  if (cot != null) {
    const paramVars = m ? m.namedParameters() : [];
    const varList = [...Object.values(inputVars), ...paramVars.map(([, v]) => v)];
    const r = tf.tensor(cot, shape);
    const g = tf.variableGrads(() => spec.forward(m, all).mul(r).sum() as tf.Scalar, varList);
    for (const [k, v] of Object.entries(inputVars)) grads[k] = Float32Array.from(g.grads[v.name].dataSync());
    for (const [k, v] of paramVars) grads[k] = Float32Array.from(g.grads[v.name].dataSync());
    tf.dispose([r, g.value, ...Object.values(g.grads)]);
  }
  tf.dispose([...Object.values(inputVars), ...Object.values(consts)]);
  m?.dispose();
  assert.equal(tf.memory().numTensors, before, `${spec.name} on ${backend}: ${tf.memory().numTensors - before} tensors leaked`);
  return { out, shape, grads };
}

const maxAbs = (a: ArrayLike<number>) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i])); return m; };

/** Run the full check; returns the worst relative errors seen (for reporting). */
export async function checkAll(spec: CheckSpec): Promise<CheckResult> {
  const rng = new Rng(spec.seed ?? 1234);
  const fwdTol = spec.fwdTol ?? 1e-5, gradTol = spec.gradTol ?? 1e-4;
  const vals: Vals = {};
  for (const src of [spec.params ?? {}, spec.buffers ?? {}, spec.inputs, spec.consts ?? {}]) for (const [k, v] of Object.entries(src)) vals[k] = v.data;
  const ref = spec.ref(vals);
  const cot = Float32Array.from(rng.normalArray(ref.length));
  const loss = (v: Vals) => { const y = spec.ref(v); let s = 0; for (let i = 0; i < y.length; i++) s += y[i] * cot[i]; return s; };

  // float64 central finite differences on (a sample of) every differentiable coordinate
  const fd: Record<string, { idx: number[]; g: number[] }> = {};
  const h = 1e-5;
  for (const k of [...Object.keys(spec.params ?? {}), ...Object.keys(spec.inputs)]) {
    const n = vals[k].length, want = spec.fdPerTensor ?? 24;
    const idx = n <= want ? [...Array(n).keys()] : rng.permutation(n).slice(0, want);
    const g = idx.map((i) => {
      const base = vals[k][i];
      const plus = { ...vals, [k]: Float64Array.from(vals[k]) }; plus[k][i] = base + h;
      const minus = { ...vals, [k]: Float64Array.from(vals[k]) }; minus[k][i] = base - h;
      return (loss(plus) - loss(minus)) / (2 * h);
    });
    fd[k] = { idx, g };
  }

  const runs: Record<string, TfRun> = {};
  let fwdErr = 0, gradErr = 0, backendErr = 0;
  for (const backend of testBackends()) {
    const run = await runTf(spec, backend, cot);
    runs[backend] = run;
    assert.equal(run.out.length, ref.length, `${spec.name}: output size ${run.out.length} vs reference ${ref.length}`);
    const fs = Math.max(1, maxAbs(ref));
    for (let i = 0; i < ref.length; i++) {
      const e = Math.abs(run.out[i] - ref[i]) / fs;
      fwdErr = Math.max(fwdErr, e);
      assert.ok(e <= fwdTol, `${spec.name} on ${backend}: forward[${i}] ${run.out[i]} vs float64 ${ref[i]} (rel err ${e.toExponential(2)} > ${fwdTol})`);
    }
    for (const [k, { idx, g }] of Object.entries(fd)) {
      const got = run.grads[k];
      assert.ok(got != null, `${spec.name} on ${backend}: no gradient for ${k}`);
      const gs = Math.max(1, maxAbs(g));
      idx.forEach((i, j) => {
        const e = Math.abs(got[i] - g[j]) / gs;
        gradErr = Math.max(gradErr, e);
        assert.ok(e <= gradTol, `${spec.name} on ${backend}: d/d${k}[${i}] autodiff ${got[i]} vs finite difference ${g[j]} (rel err ${e.toExponential(2)} > ${gradTol})`);
      });
    }
  }
  // backends agree with each other more tightly than with the float64 reference
  const names = Object.keys(runs);
  for (let b = 1; b < names.length; b++) {
    const [a, c] = [runs[names[0]], runs[names[b]]];
    const pairs: [string, Float32Array, Float32Array][] = [['forward', a.out, c.out], ...Object.keys(a.grads).map((k) => [`d/d${k}`, a.grads[k], c.grads[k]] as [string, Float32Array, Float32Array])];
    for (const [what, x, y] of pairs) {
      const s = Math.max(1, maxAbs(x));
      for (let i = 0; i < x.length; i++) {
        const e = Math.abs(x[i] - y[i]) / s;
        backendErr = Math.max(backendErr, e);
        assert.ok(e <= 1e-5, `${spec.name}: ${what}[${i}] ${names[0]} ${x[i]} vs ${names[b]} ${y[i]} (rel ${e.toExponential(2)})`);
      }
    }
  }
  if (process.env.RAEV2_GRADCHECK_LOG === '1') {
    process.stderr.write(`[gradcheck] ${spec.name}: forward ${fwdErr.toExponential(1)}, grad ${gradErr.toExponential(1)}, backends ${backendErr.toExponential(1)}\n`);
  }
  return { fwdErr, gradErr, backendErr };
}
