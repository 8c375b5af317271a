import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TURN_ACTIONS, turnScores, turnYaws } from '@raev2/navworld';

test('turnYaws: left is counter-clockwise (positive yaw), in TURN_ACTIONS order', () => {
  assert.deepEqual([...TURN_ACTIONS], ['left', 'straight', 'right']);
  assert.deepEqual(turnYaws(0.6), [0.6, 0, -0.6]);
});

test('turnScores: per-context accuracy and left-vs-right against hand counts', () => {
  // context 1: every prediction closest to its own action's true frame
  const c1 = [[0.9, 0.2, 0.1], [0.3, 0.8, 0.2], [0.0, 0.1, 0.7]];
  // context 2: the left prediction looks like straight (0.6 > 0.5) but more like left than right;
  // straight is right; the right prediction looks most like left (0.4 > 0.3)
  const c2 = [[0.5, 0.6, 0.2], [0.1, 0.9, 0.3], [0.4, 0.2, 0.3]];
  const s = turnScores([c1, c2]);
  // own action closest: c1 3 of 3, c2 1 of 3 (straight) → 4 of 6
  assert.equal(s.accuracy, 4 / 6);
  // left vs right: c1 both; c2 left 0.5 > 0.2 yes, right 0.3 > 0.4 no → 3 of 4
  assert.equal(s.leftRight, 3 / 4);
  for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) assert.ok(Math.abs(s.cosine[a][b] - (c1[a][b] + c2[a][b]) / 2) < 1e-15, `mean cosine [${a}][${b}]`);
  // a tie is not a success: the prediction must be strictly closer to its own frame
  assert.equal(turnScores([[[0.5, 0.5, 0.1], [0, 1, 0], [0.2, 0.2, 0.2]]]).accuracy, 1 / 3);
});

test('turnScores: bad input names what is wrong', () => {
  assert.throws(() => turnScores([]), /no contexts/);
  assert.throws(() => turnScores([[[1, 0], [0, 1]]]), /context 0 needs a 3×3/);
});
