/** Gradients keyed by parameter name (state-dict keys), the form the optimisers take. */
import { tf, type Tensor } from '../runtime/tf.js';
import type { NamedParams } from './optim/optimizer.js';

/**
 * Evaluate the scalar `loss` and its gradients w.r.t. the trainable variables of `params`.
 * Parameters the loss does not reach get no entry. The caller disposes the grads (`disposeGrads`).
 */
export function valueAndGrads(loss: () => tf.Scalar, params: NamedParams): { value: number; grads: Map<string, Tensor> } {
  const byVarName = new Map<string, string>();
  const vars: tf.Variable[] = [];
  for (const [name, v] of params) {
    if (!v.trainable) continue;
    byVarName.set(v.name, name);
    vars.push(v);
  }
  if (vars.length === 0) throw new Error('valueAndGrads: no trainable parameters given');
  const { value, grads } = tf.variableGrads(loss, vars);
  const out = new Map<string, Tensor>();
  for (const [varName, g] of Object.entries(grads)) if (g != null) out.set(byVarName.get(varName)!, g);
  const v = value.dataSync()[0];
  value.dispose();
  return { value: v, grads: out };
}

/** Dispose every gradient tensor in the map and clear it. */
export function disposeGrads(grads: Map<string, Tensor>): void {
  for (const g of grads.values()) g.dispose();
  grads.clear();
}
