import { test } from 'node:test';
import { checkFamilyAgainstFixture } from './hf_fixture.js';

test('DINOv3ViTModel reproduces every HF output (RoPE on patches, registers, no key bias), also on a 3×5 grid', async () => {
  await checkFamilyAgainstFixture('dinov3_vit');
});
