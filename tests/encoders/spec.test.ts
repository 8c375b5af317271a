import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEncoderSpec, resolveSelection, selectLayers, formatEncoderSpec, checkOptions } from '@raev2/encoders';
import type { Encoder } from '@raev2/core';

test('spec: the published multi-layer DINOv3 spec parses into name, family, arch, patch and selection', () => {
  const s = parseEncoderSpec('dinov3-vit-l16[layers=11.13.15.17.19.21.23,global]');
  assert.equal(s.name, 'dinov3-vit-l16');
  assert.equal(s.family, 'dinov3');
  assert.equal(s.arch, 'vit-l');
  assert.equal(s.patch, 16);
  assert.deepEqual(s.layers, { kind: 'list', layers: [11, 13, 15, 17, 19, 21, 23] });
  assert.equal(s.global, true);
  assert.equal(s.combine, undefined);
  assert.deepEqual(s.options, {});
  assert.deepEqual(resolveSelection(s, 24), { layers: [11, 13, 15, 17, 19, 21, 23], combine: 'mean', global: true });
});

test('spec: shorthands, combine, res and free options', () => {
  const s = parseEncoderSpec(' dinov2-vit-b14reg[last4, combine=sum, res=224, foo=bar, flag=true] ');
  assert.equal(s.patch, 14);
  assert.equal(s.arch, 'vit-b');
  assert.deepEqual(s.layers, { kind: 'last', k: 4 });
  assert.equal(s.combine, 'sum');
  assert.equal(s.res, 224);
  assert.deepEqual(s.options, { res: '224', foo: 'bar', flag: 'true' });
  assert.deepEqual(resolveSelection(s, 12).layers, [8, 9, 10, 11]);
  assert.deepEqual(parseEncoderSpec('x-y[layers=last2]').layers, { kind: 'last', k: 2 });
  assert.deepEqual(resolveSelection(parseEncoderSpec('x-y[all]'), 3).layers, [0, 1, 2]);
  assert.deepEqual(resolveSelection(parseEncoderSpec('x-y[layers=all,mean]'), 2), { layers: [0, 1], combine: 'mean', global: false });
  assert.equal(parseEncoderSpec('x-y[global=false]').global, false);
});

test('spec: names without brackets, CNN names, hf:/onnx: forms', () => {
  const so = parseEncoderSpec('siglip2-vit-so400m14-384');
  assert.deepEqual([so.family, so.arch, so.patch], ['siglip2', 'vit-so400m', 14]);
  const m = parseEncoderSpec('mobilenetv2-nsfwjs[stage=6-9]');
  assert.deepEqual([m.family, m.arch, m.patch, m.options.stage], ['mobilenetv2', 'nsfwjs', undefined, '6-9']);
  const h = parseEncoderSpec('hf:./models/dinov2-small[layers=last2]');
  assert.deepEqual([h.name, h.family], ['hf:./models/dinov2-small', 'hf']);
  assert.equal(parseEncoderSpec('onnx:/tmp/m.onnx').family, 'onnx');
});

test('spec: errors name the bad part and quote the spec', () => {
  assert.throws(() => parseEncoderSpec('dinov3-vit-l16[layers=11.x]'), { message: "layer 'x' in 'dinov3-vit-l16[layers=11.x]' is not an integer" });
  assert.throws(() => parseEncoderSpec('dinov3-vit-l16[layers=11'), /unbalanced '\[' \(missing '\]'\) in encoder spec 'dinov3-vit-l16\[layers=11'/);
  assert.throws(() => parseEncoderSpec('dinov3-vit-l16]'), /unbalanced '\]'/);
  assert.throws(() => parseEncoderSpec('a-b[x=1]c'), /unexpected text 'c' after '\]'/);
  assert.throws(() => parseEncoderSpec('a-b[[x]]'), /nested or repeated brackets/);
  assert.throws(() => parseEncoderSpec('a-b[bogus]'), /unknown option 'bogus'/);
  assert.throws(() => parseEncoderSpec('a-b[combine=max]'), /combine='max' must be mean or sum/);
  assert.throws(() => parseEncoderSpec('a-b[layers=1,last2]'), /option 'layers' given twice/);
  assert.throws(() => parseEncoderSpec('a-b[foo=1,foo=2]'), /option 'foo' given twice/);
  assert.throws(() => parseEncoderSpec('a-b[mean,combine=sum]'), /option 'combine' given twice/);
  assert.throws(() => parseEncoderSpec('a-b[combine=sum,mean]'), /option 'combine' given twice/);
  assert.throws(() => parseEncoderSpec('a-b[layers=3.3]'), /layer 3 is listed twice/);
  assert.throws(() => parseEncoderSpec('a-b[last0]'), /last-K count must be ≥ 1/);
  assert.throws(() => parseEncoderSpec('a-b[lastk]'), /unknown option 'lastk'/);
  assert.throws(() => parseEncoderSpec('a-b[layers=lastx]'), /last-K count 'x' in 'a-b\[layers=lastx\]' is not an integer/);
  assert.throws(() => parseEncoderSpec('a-b[res=-3]'), /res '-3' in 'a-b\[res=-3\]' is not an integer/);
  assert.throws(() => parseEncoderSpec('a-b[layers=1,,global]'), /empty option/);
  assert.throws(() => parseEncoderSpec('[layers=1]'), /missing encoder name/);
  assert.throws(() => parseEncoderSpec('  '), /empty encoder spec/);
});

test('spec: selection is validated against the encoder depth', () => {
  assert.throws(() => resolveSelection(parseEncoderSpec('dinov2-vit-s14[layers=3.12]'), 12), /'dinov2-vit-s14\[layers=3.12\]': layer 12 is out of range: the encoder has blocks 0…11/);
  assert.throws(() => resolveSelection(parseEncoderSpec('mobilenetv2-nsfwjs[last4]'), 3), /last4 asks for 4 layers but the encoder has 3 blocks/);
  // No layers in the spec: the encoder's own default, else the last block (the original RAE).
  assert.deepEqual(resolveSelection(parseEncoderSpec('x-y'), 12).layers, [11]);
  assert.deepEqual(resolveSelection(parseEncoderSpec('x-y[global]'), 3, { layers: [0, 1, 2], combine: 'sum' }), { layers: [0, 1, 2], combine: 'sum', global: true });
  const fake = { numLayers: 6, defaultSelection: { layers: [4, 5] } } as unknown as Encoder;
  assert.deepEqual(selectLayers(fake, 'fake').layers, [4, 5]);
  assert.deepEqual(selectLayers(fake, 'fake[last3]').layers, [3, 4, 5]);
});

test('spec: formatEncoderSpec is canonical and parses back to the same spec', () => {
  for (const text of ['dinov3-vit-l16[layers=11.13.15,global]', 'mobilenetv2-nsfwjs[stage=6-9,last2,combine=sum,res=64]', 'clip-vit-b16']) {
    const a = parseEncoderSpec(text);
    const canon = formatEncoderSpec(a);
    const b = parseEncoderSpec(canon);
    assert.deepEqual({ ...b, source: '' }, { ...a, source: '' }, canon);
    assert.equal(formatEncoderSpec(b), canon);
  }
  assert.equal(formatEncoderSpec(parseEncoderSpec('m-n[res=64,last2,global]')), 'm-n[layers=last2,global,res=64]');
});

test('spec: checkOptions rejects options a factory does not know', () => {
  checkOptions('m', { res: '64', stage: '6-9' }, ['stage']);
  assert.throws(() => checkOptions('mobilenetv2-nsfwjs', { stride: '2' }, ['stage']), /encoder 'mobilenetv2-nsfwjs' has no option 'stride' \(options: stage\)/);
});
