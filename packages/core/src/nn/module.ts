/**
 * A small module system: parameters live in a tree whose flattened names are the PyTorch
 * state-dict keys (`blocks.0.attn.qkv.weight`), so upstream checkpoints load by name.
 */
import { tf, type Tensor, type Variable } from '../runtime/tf.js';

/** Result of loading a state dict: what did not line up. */
export interface LoadReport {
  missing: string[];
  unexpected: string[];
  mismatched: { key: string; expected: number[]; got: number[] }[];
}

export interface LoadOptions {
  /** Throw when anything is missing, unexpected or mis-shaped (default true). */
  strict?: boolean;
  /** Name used in error messages (e.g. the file path). */
  source?: string;
}

export abstract class Module {
  /** Train/eval mode; modules with dropout or noise read it. */
  training = true;
  private readonly _params = new Map<string, Variable>();
  private readonly _buffers = new Map<string, Tensor>();
  private readonly _children = new Map<string, Module>();

  /** Register a trainable parameter initialised from `init` (which this call takes ownership of). */
  protected param(name: string, init: Tensor, trainable = true): Variable {
    if (this._params.has(name)) throw new Error(`parameter "${name}" registered twice`);
    const v = tf.variable(init, trainable);
    init.dispose();
    this._params.set(name, v);
    return v;
  }

  /** Register a persistent non-trainable tensor that is part of the state dict (kept until dispose). */
  protected buffer(name: string, value: Tensor): Tensor {
    this._buffers.get(name)?.dispose();
    tf.keep(value);
    this._buffers.set(name, value);
    return value;
  }

  /** Current value of a registered buffer. */
  protected getBuffer(name: string): Tensor {
    const b = this._buffers.get(name);
    if (b == null) throw new Error(`buffer "${name}" not registered`);
    return b;
  }

  /** Register a child module under `name`. */
  protected child<M extends Module>(name: string, m: M): M {
    if (this._children.has(name)) throw new Error(`child "${name}" registered twice`);
    this._children.set(name, m);
    return m;
  }

  /** Child modules in registration order. */
  namedChildren(): [string, Module][] {
    return [...this._children];
  }

  /** All parameters with their flattened names. */
  namedParameters(prefix = ''): [string, Variable][] {
    const out: [string, Variable][] = [];
    for (const [n, p] of this._params) out.push([prefix + n, p]);
    for (const [n, c] of this._children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  /** All buffers with their flattened names. */
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, b] of this._buffers) out.push([prefix + n, b]);
    for (const [n, c] of this._children) out.push(...c.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  /** Trainable parameters (those not frozen). */
  trainableParameters(): Variable[] {
    return this.namedParameters().filter(([, v]) => v.trainable).map(([, v]) => v);
  }

  /** Number of parameter scalars (trainable only when asked). */
  numParameters(trainableOnly = false): number {
    return this.namedParameters()
      .filter(([, v]) => !trainableOnly || v.trainable)
      .reduce((s, [, v]) => s + v.size, 0);
  }

  /** Parameters and buffers by name; the tensors are the live ones (do not dispose). */
  stateDict(): Map<string, Tensor> {
    return new Map<string, Tensor>([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /** Copy values from `sd` into this module's parameters and buffers. */
  loadStateDict(sd: Map<string, Tensor> | Record<string, Tensor>, opts: LoadOptions = {}): LoadReport {
    const src = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const report: LoadReport = { missing: [], unexpected: [], mismatched: [] };
    const params = new Map(this.namedParameters());
    const buffers = this.bufferOwners();
    for (const key of [...params.keys(), ...buffers.keys()]) if (!src.has(key)) report.missing.push(key);
    for (const [key, value] of src) {
      const target = params.get(key) ?? buffers.get(key)?.tensor;
      if (target == null) {
        report.unexpected.push(key);
        continue;
      }
      if (!sameShape(target.shape, value.shape)) report.mismatched.push({ key, expected: target.shape, got: value.shape });
    }
    const strict = opts.strict ?? true;
    if (strict && (report.missing.length || report.unexpected.length || report.mismatched.length)) {
      throw new Error(formatLoadReport(report, opts.source));
    }
    const bad = new Set(report.mismatched.map((m) => m.key));
    for (const [key, value] of src) {
      if (bad.has(key)) continue;
      const p = params.get(key);
      if (p != null) {
        if (value.dtype === 'float32') p.assign(value);
        else tf.tidy(() => p.assign(value.toFloat())); // the cast copy is released with the tidy
        continue;
      }
      const b = buffers.get(key);
      if (b != null) b.owner.buffer(b.name, value.dtype === b.tensor.dtype ? value.clone() : value.cast(b.tensor.dtype));
    }
    return report;
  }

  private bufferOwners(prefix = ''): Map<string, { owner: Module; name: string; tensor: Tensor }> {
    const out = new Map<string, { owner: Module; name: string; tensor: Tensor }>();
    for (const [n, t] of this._buffers) out.set(prefix + n, { owner: this, name: n, tensor: t });
    for (const [n, c] of this._children) for (const [k, v] of c.bufferOwners(`${prefix}${n}.`)) out.set(k, v);
    return out;
  }

  /** Set train mode on this module and every child. */
  train(on = true): this {
    this.training = on;
    for (const c of this._children.values()) c.train(on);
    return this;
  }

  /** Set eval mode on this module and every child. */
  eval(): this {
    return this.train(false);
  }

  /** Freeze (or unfreeze) every parameter: frozen ones get no gradients and no optimiser updates. */
  freeze(frozen = true): this {
    for (const [, v] of this.namedParameters()) v.trainable = !frozen;
    return this;
  }

  /** Release every parameter and buffer. */
  dispose(): void {
    for (const v of this._params.values()) v.dispose();
    for (const b of this._buffers.values()) b.dispose();
    for (const c of this._children.values()) c.dispose();
    this._params.clear();
    this._buffers.clear();
  }
}

/** An indexed list of modules (`blocks.0`, `blocks.1`, … like torch.nn.ModuleList). */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items.map((m, i) => this.child(String(i), m));
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): M {
    return this.items[i];
  }
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Human-readable load report, naming every bad key and its expected shape. */
export function formatLoadReport(r: LoadReport, source?: string): string {
  const lines = [`state dict${source ? ` from ${source}` : ''} does not match the model:`];
  const show = (xs: string[]) => (xs.length > 20 ? [...xs.slice(0, 20), `… and ${xs.length - 20} more`] : xs).join(', ');
  if (r.missing.length) lines.push(`  missing keys (${r.missing.length}): ${show(r.missing)}`);
  if (r.unexpected.length) lines.push(`  unexpected keys (${r.unexpected.length}): ${show(r.unexpected)}`);
  for (const m of r.mismatched.slice(0, 20)) lines.push(`  ${m.key}: expected shape [${m.expected}], got [${m.got}]`);
  return lines.join('\n');
}
