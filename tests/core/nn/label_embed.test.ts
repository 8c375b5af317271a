import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, LabelEmbedder, Rng } from '@raev2/core';
import { useBackend, testBackends } from '../../helpers/fixtures.js';

for (const backend of testBackends()) {
  test(`label embedding: rows of the table (null class = numClasses) and a table gradient that works on ${backend}`, async () => {
    await useBackend(backend);
    const emb = new LabelEmbedder(4, 3, { numTokens: 2, rng: new Rng(2) });
    assert.equal(emb.nullClass, 4);
    const table = emb.embeddingTable.weight;
    assert.deepEqual(table.shape, [5, 3]);
    const rows = Array.from(table.dataSync());
    const before = tf.memory().numTensors;
    const labels = tf.tensor1d([4, 1, 1], 'int32');
    const e = emb.lookup(labels);
    assert.deepEqual(Array.from(e.dataSync()), [...rows.slice(12, 15), ...rows.slice(3, 6), ...rows.slice(3, 6)].map(Math.fround));
    // d/dtable Σ embed(labels)·w: row r gets Σ_{i: label_i = r} w_i (no UnsortedSegmentSum needed)
    const w = tf.tensor2d([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    const { grads, value } = tf.variableGrads(() => emb.lookup(labels).mul(w).sum() as tf.Scalar, [table]);
    const g = grads[table.name].dataSync();
    assert.deepEqual(Array.from(g), [0, 0, 0, 11, 13, 15, 0, 0, 0, 0, 0, 0, 1, 2, 3]);
    const tok = emb.tokens(labels);
    assert.deepEqual(tok.shape, [3, 2, 3]);
    tf.dispose([labels, e, w, value, grads[table.name], tok]);
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    assert.throws(() => emb.lookup([5]), /index 5 out of range \[0, 5\)/);
    emb.dispose();
  });
}
