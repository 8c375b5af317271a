import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EpochSampler, Rng, type LoopState } from '@raev2/core';

test('EpochSampler: each epoch is a permutation (drop-last) and a JSON round trip of the state resumes it exactly', () => {
  const sampler = new EpochSampler(10, 3);
  assert.equal(sampler.stepsPerEpoch, 3);
  const rng = new Rng(4);
  const state: LoopState = { epoch: 0, extra: {} };
  const batches: number[][] = [];
  let snapshot: { rng: number[]; state: string } | null = null;
  for (let i = 0; i < 8; i++) {
    if (i === 4) snapshot = { rng: rng.state(), state: JSON.stringify(state) };
    batches.push(sampler.next({ rng, state }));
  }
  for (let e = 0; e < 2; e++) {
    const seen = batches.slice(3 * e, 3 * e + 3).flat();
    assert.equal(new Set(seen).size, 9, `epoch ${e} has distinct indices`);
    assert.ok(seen.every((i) => i >= 0 && i < 10));
  }
  assert.notDeepEqual(batches.slice(0, 3), batches.slice(3, 6), 'epochs are reshuffled');
  assert.equal(state.epoch, 2);
  // a fresh process (new sampler, restored rng + state) continues identically
  const s2 = new EpochSampler(10, 3);
  const rng2 = new Rng(snapshot!.rng);
  const st2 = JSON.parse(snapshot!.state) as LoopState;
  const rest = Array.from({ length: 4 }, () => s2.next({ rng: rng2, state: st2 }));
  assert.deepEqual(rest, batches.slice(4));
  assert.throws(() => new EpochSampler(2, 3), /batchSize/);
  assert.throws(() => s2.next({ rng: rng2, state: { epoch: 0, extra: { sampler: { epoch: -1 } } } }), /extra\.sampler[\s\S]*epoch/);
});
