/**
 * Decoding tensor bytes that sit inside a Node Buffer view (a small file read with readFileSync lands
 * in Node's shared buffer pool): the decoded values must be the view's, not the pool's from offset 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from '../../../packages/core/src/io/dtype.js';

test('decode copies a Buffer view: F32 and I32 values come from the view, not its pool', () => {
  const values = new Float32Array([1.5, -2.25, 3e-3, 42]);
  const ints = new Int32Array([7, -9, 123456, 0]);
  const pool = Buffer.alloc(256, 0xab); // other bytes before and after the tensor
  const off = 24;
  Buffer.from(values.buffer).copy(pool, off);
  Buffer.from(ints.buffer).copy(pool, off + 16);
  const f = decode(pool.subarray(off, off + 16), 'F32', 'f');
  const i = decode(pool.subarray(off + 16, off + 32), 'I32', 'i');
  assert.deepEqual(Array.from(f), Array.from(values));
  assert.deepEqual(Array.from(i), Array.from(ints));
  // and the decoded arrays own their memory: writing the pool afterwards leaves them alone
  pool.fill(0);
  assert.deepEqual(Array.from(f), Array.from(values));
});
