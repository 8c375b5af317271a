import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFamilyAgainstFixture } from './hf_fixture.js';

test('Dinov2Model reproduces every HF output, incl. the bicubic position resize to 3×5 (interp.*)', async () => {
  const worst = await checkFamilyAgainstFixture('dinov2');
  assert.ok(Object.keys(worst).length > 0);
});

test('Dinov2WithRegistersModel reproduces every HF output, incl. the antialiased position resize (interp.*)', async () => {
  await checkFamilyAgainstFixture('dinov2_with_registers');
});
