/**
 * Counterfactual turns: from one context the model predicts the frame after a left turn, straight on
 * and a right turn; the simulator renders the true frame after each. These scores say whether the
 * prediction follows its own action, per context rather than only on average.
 */

/** The actions of a counterfactual-turn test, in the order of `turnYaws`. */
export const TURN_ACTIONS = ['left', 'straight', 'right'] as const;

/** Yaw changes (rad, counter-clockwise = left) of the three actions for a turn of `yaw` radians. */
export function turnYaws(yaw: number): number[] {
  return [yaw, 0, -yaw];
}

export interface TurnScores {
  /** Mean over contexts of cos(prediction for action a, true frame after action b): [a][b]. */
  cosine: number[][];
  /**
   * Share of (context, action) pairs whose prediction is closer to the true frame after its own
   * action than to the true frames after the other two (chance 1/3).
   */
  accuracy: number;
  /**
   * Share of left/right predictions closer to their own true frame than to the opposite turn's
   * (chance 1/2): does a predicted left turn look more like turning left than right?
   */
  leftRight: number;
}

/** Scores from per-context similarities `sim[r][a][b]` (prediction for action a vs true frame after b; actions as TURN_ACTIONS). */
export function turnScores(sim: readonly (readonly (readonly number[])[])[]): TurnScores {
  const A = TURN_ACTIONS.length;
  const n = sim.length;
  if (n === 0) throw new Error('counterfactual turns: no contexts');
  const cosine = Array.from({ length: A }, () => new Array<number>(A).fill(0));
  let own = 0, lr = 0;
  const [L, R] = [TURN_ACTIONS.indexOf('left'), TURN_ACTIONS.indexOf('right')];
  for (const [r, m] of sim.entries()) {
    if (m.length !== A || m.some((row) => row.length !== A)) throw new Error(`counterfactual turns: context ${r} needs a ${A}×${A} similarity matrix`);
    for (let a = 0; a < A; a++) {
      for (let b = 0; b < A; b++) cosine[a][b] += m[a][b] / n;
      if (m[a].every((v, b) => b === a || m[a][a] > v)) own++;
    }
    lr += (m[L][L] > m[L][R] ? 1 : 0) + (m[R][R] > m[R][L] ? 1 : 0);
  }
  return { cosine, accuracy: own / (A * n), leftRight: lr / (2 * n) };
}
