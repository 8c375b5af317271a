/**
 * Exponential moving average of parameters, kept by name:
 *   shadow ← decay·shadow + (1 − decay)·param        (torch: ema.mul_(decay).add_(p, alpha=1 − decay))
 * Sample with the EMA weights through `copyTo(model)` or `swap()` (call twice to swap back).
 */
import { tf, type Tensor, type Variable } from '../runtime/tf.js';
import { Module } from '../nn/module.js';
import { stateVariable, toParamMap, type NamedParams } from './optim/optimizer.js';

export class Ema {
  private readonly params: Map<string, Variable>;
  private readonly shadow = new Map<string, Variable>();

  /** Track `params` (a module's trainable parameters by default); shadows start as copies. */
  constructor(params: Module | NamedParams) {
    const named = params instanceof Module ? params.namedParameters().filter(([, v]) => v.trainable) : params;
    this.params = toParamMap(named);
    for (const [n, p] of this.params) this.shadow.set(n, stateVariable(p.clone()));
  }

  get names(): string[] {
    return [...this.shadow.keys()];
  }

  /** shadow ← decay·shadow + (1 − decay)·param for every tracked parameter. */
  update(decay: number): void {
    if (!(decay >= 0 && decay <= 1)) throw new Error(`Ema.update: decay must be in [0, 1], got ${decay}`);
    for (const [n, s] of this.shadow) {
      const p = this.params.get(n)!;
      tf.tidy(() => s.assign(s.mul(decay).add(p.mul(1 - decay))));
    }
  }

  /** Copy the shadow weights into `target` (same parameter names; default: the tracked parameters themselves). */
  copyTo(target?: Module | NamedParams): void {
    const dst = target == null ? this.params : toParamMap(target instanceof Module ? target.namedParameters() : target);
    const missing = this.names.filter((n) => !dst.has(n));
    if (missing.length) throw new Error(`Ema.copyTo: the target lacks ${missing.length} EMA parameter(s): ${missing.slice(0, 10).join(', ')}`);
    for (const [n, s] of this.shadow) {
      const d = dst.get(n)!;
      if (!sameShape(d.shape, s.shape)) throw new Error(`Ema.copyTo: "${n}" has shape [${d.shape}] in the target but [${s.shape}] in the EMA`);
    }
    for (const [n, s] of this.shadow) dst.get(n)!.assign(s);
  }

  /** Exchange live and shadow values (evaluate with EMA weights, then swap back). */
  swap(): void {
    for (const [n, s] of this.shadow) {
      const p = this.params.get(n)!;
      const live = p.clone();
      p.assign(s);
      s.assign(live);
      live.dispose();
    }
  }

  /** Shadow weights by parameter name: fresh tensors (cheap clones) the caller disposes. */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.shadow].map(([n, s]) => [n, s.clone()] as [string, Tensor]));
  }

  /** Restore shadows; every tracked name must be present with its shape, and nothing else. */
  loadStateDict(sd: Map<string, Tensor>, source = 'EMA state'): void {
    const problems: string[] = [];
    for (const n of this.shadow.keys()) if (!sd.has(n)) problems.push(`missing "${n}"`);
    for (const [n, t] of sd) {
      const s = this.shadow.get(n);
      if (s == null) problems.push(`unexpected "${n}"`);
      else if (!sameShape(s.shape, t.shape)) problems.push(`"${n}" has shape [${t.shape}], expected [${s.shape}]`);
    }
    if (problems.length) throw new Error(`${source}: EMA state does not match the tracked parameters:\n  ${problems.slice(0, 20).join('\n  ')}`);
    for (const [n, s] of this.shadow) {
      const t = sd.get(n)!;
      s.assign(t.dtype === 'float32' ? t : tf.tidy(() => t.toFloat()));
    }
  }

  dispose(): void {
    for (const s of this.shadow.values()) s.dispose();
    this.shadow.clear();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
