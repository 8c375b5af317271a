/**
 * The optimiser contract: updates a fixed list of named variables (state-dict keys such as
 * `blocks.0.attn.qkv.weight`), so optimiser state is saved and restored by name, never by position.
 *
 * State-dict layout: `<slot>/<param name>` (e.g. `exp_avg/blocks.0.mlp.fc1.weight`, `step/…`);
 * a group of optimisers prefixes each member's keys with `<member>/`.
 */
import { tf, type Tensor, type Variable } from '../../runtime/tf.js';

/** Named variables: state-dict keys → variables (e.g. `module.namedParameters()`). */
export type NamedParams = Iterable<readonly [string, Variable]>;

export interface Optimizer {
  /** Learning rate used by the next `step` (a schedule sets it before each step). */
  lr: number;
  /** Names of the variables this optimiser updates. */
  readonly paramNames: readonly string[];
  /**
   * Apply one update from gradients keyed by parameter name. A parameter without a gradient is
   * skipped (like PyTorch's `p.grad is None`); a gradient for a name it does not own throws.
   * The caller keeps ownership of `grads` (dispose them after the step).
   */
  step(grads: Map<string, Tensor>): void;
  /** Optimiser state by `<slot>/<name>`: fresh tensors (cheap clones) that the caller disposes. */
  stateDict(): Map<string, Tensor>;
  /** Restore state from `stateDict()` output; validates every key and shape before assigning (`source` names the file in errors). */
  loadStateDict(sd: Map<string, Tensor>, source?: string): void;
  /** Release all optimiser state (not the parameters). */
  dispose(): void;
}

/** Collect named variables into a Map, rejecting duplicate names. */
export function toParamMap(params: NamedParams): Map<string, Variable> {
  const out = new Map<string, Variable>();
  for (const [name, v] of params) {
    if (out.has(name)) throw new Error(`parameter "${name}" given twice to the optimiser`);
    out.set(name, v);
  }
  return out;
}

/** A non-trainable variable holding `init`'s value (takes ownership of `init`). */
export function stateVariable(init: Tensor): Variable {
  const v = tf.variable(init, false);
  init.dispose(); // the variable keeps its own reference to the data
  return v;
}

/** Split a `<slot>/<name>` state key; null when it has no slot. */
export function splitStateKey(key: string): { slot: string; name: string } | null {
  const i = key.indexOf('/');
  return i <= 0 ? null : { slot: key.slice(0, i), name: key.slice(i + 1) };
}

/** Throw if `grads` names a parameter outside `owned`. */
export function checkGradNames(grads: Map<string, Tensor>, owned: Map<string, unknown>, who: string): void {
  const unknown = [...grads.keys()].filter((k) => !owned.has(k));
  if (unknown.length) throw new Error(`${who}: gradients for parameters it does not own: ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ', …' : ''}`);
}

/**
 * Per-parameter optimiser state held as non-trainable variables, with the name-based
 * save/load shared by AdamW and Muon. Subclasses declare their tensor slots; `step/<name>`
 * (int32 scalar) counts the updates each parameter has received.
 */
export abstract class StatefulOptimizer implements Optimizer {
  abstract lr: number;
  protected readonly params: Map<string, Variable>;
  protected readonly state = new Map<string, Map<string, Variable>>();
  protected readonly steps = new Map<string, number>();

  constructor(params: NamedParams, protected readonly slots: readonly string[], protected readonly kind: string) {
    this.params = toParamMap(params);
  }

  get paramNames(): readonly string[] {
    return [...this.params.keys()];
  }

  abstract step(grads: Map<string, Tensor>): void;

  /** State slots of `name`, created as zeros on first use. */
  protected slotsOf(name: string): Map<string, Variable> {
    let s = this.state.get(name);
    if (s == null) {
      const p = this.params.get(name)!;
      s = new Map(this.slots.map((slot) => [slot, stateVariable(tf.zerosLike(p))] as [string, Variable]));
      this.state.set(name, s);
    }
    return s;
  }

  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [name, s] of this.state) {
      for (const [slot, v] of s) out.set(`${slot}/${name}`, v.clone());
      out.set(`step/${name}`, tf.scalar(this.steps.get(name) ?? 0, 'int32'));
    }
    return out;
  }

  loadStateDict(sd: Map<string, Tensor>, source = `${this.kind} state`): void {
    const problems: string[] = [];
    const incoming = new Map<string, Map<string, Tensor>>();
    for (const [key, t] of sd) {
      const k = splitStateKey(key);
      if (k == null || (k.slot !== 'step' && !this.slots.includes(k.slot))) { problems.push(`unexpected key "${key}"`); continue; }
      const p = this.params.get(k.name);
      if (p == null) { problems.push(`"${key}" names a parameter this ${this.kind} does not own`); continue; }
      if (k.slot === 'step' ? t.size !== 1 : !sameShape(t.shape, p.shape)) { problems.push(`"${key}" has shape [${t.shape}], expected [${k.slot === 'step' ? '' : p.shape}]`); continue; }
      if (!incoming.has(k.name)) incoming.set(k.name, new Map());
      incoming.get(k.name)!.set(k.slot, t);
    }
    for (const [name, s] of incoming) {
      const missing = ['step', ...this.slots].filter((slot) => !s.has(slot));
      if (missing.length) problems.push(`parameter "${name}" lacks ${missing.map((m) => `${m}/${name}`).join(', ')}`);
    }
    if (problems.length) throw new Error(`${source}: ${this.kind} state does not match the parameters:\n  ${problems.slice(0, 20).join('\n  ')}`);
    this.dispose();
    for (const [name, s] of incoming) {
      const vars = new Map<string, Variable>();
      for (const slot of this.slots) vars.set(slot, stateVariable(s.get(slot)!.toFloat()));
      this.state.set(name, vars);
      this.steps.set(name, s.get('step')!.dataSync()[0]);
    }
  }

  dispose(): void {
    for (const s of this.state.values()) for (const v of s.values()) v.dispose();
    this.state.clear();
    this.steps.clear();
  }
}

/** Several optimisers acting as one (e.g. Muon for hidden matrices + AdamW for the rest, or a generator and a discriminator). */
export class OptimizerGroup implements Optimizer {
  private readonly owner = new Map<string, string>();
  private readonly baseLr: Map<string, number>;
  private lr0: number;

  /** `members` keys prefix each member's state keys; `lr` scales every member's lr proportionally. */
  constructor(readonly members: Record<string, Optimizer>) {
    for (const [m, opt] of Object.entries(members)) {
      if (m.includes('/')) throw new Error(`optimiser group member name "${m}" must not contain "/"`);
      for (const n of opt.paramNames) {
        const prev = this.owner.get(n);
        if (prev != null) throw new Error(`parameter "${n}" is in both optimisers "${prev}" and "${m}"`);
        this.owner.set(n, m);
      }
    }
    this.baseLr = new Map(Object.entries(members).map(([m, o]) => [m, o.lr]));
    this.lr0 = Object.values(members)[0]?.lr ?? 0;
  }

  /** The first member's lr; setting it rescales every member by the same factor (keeping their ratios). */
  get lr(): number {
    return Object.values(this.members)[0]?.lr ?? 0;
  }
  set lr(v: number) {
    if (this.lr0 === 0) {
      this.lr0 = v;
      for (const o of Object.values(this.members)) o.lr = v;
      return;
    }
    for (const [m, o] of Object.entries(this.members)) o.lr = (this.baseLr.get(m)! * v) / this.lr0;
  }

  get paramNames(): readonly string[] {
    return [...this.owner.keys()];
  }

  step(grads: Map<string, Tensor>): void {
    checkGradNames(grads, this.owner, 'optimiser group');
    const split = new Map<string, Map<string, Tensor>>(Object.keys(this.members).map((m) => [m, new Map()]));
    for (const [n, g] of grads) split.get(this.owner.get(n)!)!.set(n, g);
    for (const [m, o] of Object.entries(this.members)) if (split.get(m)!.size) o.step(split.get(m)!);
  }

  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [m, o] of Object.entries(this.members)) for (const [k, t] of o.stateDict()) out.set(`${m}/${k}`, t);
    return out;
  }

  loadStateDict(sd: Map<string, Tensor>, source = 'optimiser state'): void {
    const parts = new Map<string, Map<string, Tensor>>(Object.keys(this.members).map((m) => [m, new Map()]));
    const unexpected: string[] = [];
    for (const [k, t] of sd) {
      const i = k.indexOf('/');
      const part = i > 0 ? parts.get(k.slice(0, i)) : undefined;
      if (part == null) unexpected.push(k);
      else part.set(k.slice(i + 1), t);
    }
    if (unexpected.length) throw new Error(`${source}: keys for no member of the optimiser group (${Object.keys(this.members).join(', ')}): ${unexpected.slice(0, 10).join(', ')}`);
    for (const [m, o] of Object.entries(this.members)) o.loadStateDict(parts.get(m)!, `${source} [${m}]`);
  }

  dispose(): void {
    for (const o of Object.values(this.members)) o.dispose();
  }
}

/** Combine optimisers into one whose state saves under `<member>/…`. */
export function groupOptimizers(members: Record<string, Optimizer>): OptimizerGroup {
  return new OptimizerGroup(members);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
