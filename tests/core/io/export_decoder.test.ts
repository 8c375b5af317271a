import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Ema, Rng, createRAE, exportDecoder, loadDecoder, tf } from '@raev2/core';
import { fakeEncoder } from '../rae/fake_encoder.js';
import { useBackend } from '../../helpers/fixtures.js';

test('exportDecoder on a full disk (injected): the error names decoder/ and "disk full"; no decoder.tmp-* folder is left; an earlier export stays', async () => {
  await useBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raev2-export-'));
  const tensors = tf.memory().numTensors;
  const encoder = fakeEncoder({ layers: 3, dim: 8, patch: 4, size: [16, 16], seed: 3 });
  const rae = createRAE({ encoder, selection: { layers: [1, 2] }, decoder: { preset: 'tiny', overrides: { decoder_hidden_size: 16, decoder_num_hidden_layers: 1, decoder_num_attention_heads: 2, decoder_intermediate_size: 32 }, rng: new Rng(5) } });
  const target = path.join(dir, 'decoder');
  const ema = new Ema(rae.decoder);
  exportDecoder(rae, ema, target);
  const before = fs.readFileSync(path.join(target, 'model.safetensors'));
  const real = fs.writeSync;
  let written = 0;
  const m = mock.method(fs, 'writeSync', ((fd: number, buf: Uint8Array, off?: number, len?: number, pos?: number | null) => {
    if (written > 2000) {
      const e = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
      e.code = 'ENOSPC';
      throw e;
    }
    const n = real(fd, buf, off ?? 0, Math.min(len ?? buf.byteLength, 1000), pos ?? null);
    written += n;
    return n;
  }) as typeof fs.writeSync);
  try {
    assert.throws(() => exportDecoder(rae, ema, target), (e: Error) => e.message.includes(target) && /disk full \(ENOSPC\)/.test(e.message));
  } finally {
    m.mock.restore();
  }
  assert.deepEqual(fs.readdirSync(dir), ['decoder'], 'no temp folder left');
  assert.deepEqual(fs.readFileSync(path.join(target, 'model.safetensors')), before, 'the earlier export is intact');
  const dec = loadDecoder(target);
  dec.dispose();
  ema.dispose();
  rae.dispose();
  encoder.dispose();
  assert.equal(tf.memory().numTensors, tensors, 'no leaks');
  fs.rmSync(dir, { recursive: true });
});
