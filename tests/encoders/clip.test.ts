import { test } from 'node:test';
import { checkFamilyAgainstFixture } from './hf_fixture.js';

test('CLIPVisionModel reproduces every HF output (pre_layrnorm state 0, quick_gelu, pooler = post_layernorm(CLS)), also interpolated', async (t) => {
  const worst = await checkFamilyAgainstFixture('clip_vision');
  t.diagnostic(`max abs diff per backend: ${JSON.stringify(worst)}`);
});
