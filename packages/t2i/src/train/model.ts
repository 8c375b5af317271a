/**
 * A trained T2I run loaded for generation: the DiT^DH (EMA weights) of its latest checkpoint, the
 * sampling shift, and the prompt → condition map of its variant (text: cached tower features, with
 * the empty prompt as null condition; caption-id: the training caption's class, unknown prompts →
 * the null class, which is all that baseline can do with a new prompt).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { tf, parseWith, readCheckpointState, resolveCheckpoint, loadStage2Model, DiTConfigSchema, type Condition, type DiTModel } from '@raev2/core';
import type { TextEncoder } from '@raev2/encoders';
import { loadTextEncoder } from '../text/registry.js';
import { TextConditioner } from '../condition/text_condition.js';
import { readT2IRun, type T2IRun } from './run.js';

const SavedSchema = z.object({ t2i: z.unknown(), dit: DiTConfigSchema, shift: z.number().positive() }).loose();

export interface T2IModel {
  run: T2IRun;
  model: DiTModel;
  shift: number;
  step: number;
  /** prompts (B) → condition rows. */
  condition(prompts: readonly string[]): Condition;
  nullCondition(batch: number): Condition;
  dispose(): void;
}

/** Load a run folder (its latest checkpoint), one of its checkpoint folders, or `ckpt` for generation; `text` reuses an already loaded tower (the caller keeps it). */
export async function loadT2IModel(runOrCkpt: string, o: { ckpt?: string; text?: TextEncoder; ema?: boolean } = {}): Promise<T2IModel> {
  // a checkpoint folder (ckpt-<step>/state.json) of a run: the run record is in its parent
  const isCkpt = fs.existsSync(path.join(runOrCkpt, 'state.json'));
  const runDir = isCkpt ? path.dirname(runOrCkpt) : runOrCkpt;
  if (isCkpt) o = { ...o, ckpt: o.ckpt ?? runOrCkpt };
  const run = readT2IRun(runDir);
  const ckpt = resolveCheckpoint(o.ckpt ?? runDir);
  const state = readCheckpointState(ckpt);
  const saved = parseWith(SavedSchema, state.config, `t2i config in ${path.join(ckpt, 'state.json')}`);
  const model = loadStage2Model(ckpt, saved.dit, { ema: o.ema ?? true });
  return t2iModelOf(run, model, saved.shift, state.step, o.text);
}

/** A T2I model from its parts (a DiT already loaded — e.g. from a shipped weights file — and the run record); takes ownership of `model`. */
export async function t2iModelOf(run: T2IRun, model: DiTModel, shift: number, step: number, sharedText?: TextEncoder): Promise<T2IModel> {
  const saved = { shift };
  const state = { step };
  const o = { text: sharedText };
  if (run.variant === 'caption-id') {
    const ids = new Map(Object.entries(run.captionIds ?? {}));
    const n = ids.size;
    return {
      run, model, shift: saved.shift, step: state.step,
      condition: (prompts) => ({ labels: tf.tensor1d(prompts.map((p) => ids.get(p) ?? n), 'int32') }),
      nullCondition: (b) => ({ labels: tf.fill([b], n, 'int32') }),
      dispose: () => model.dispose(),
    };
  }
  const text = o.text ?? (await loadTextEncoder(run.textEncoder));
  const conditioner = new TextConditioner(text, run.text);
  return {
    run, model, shift: saved.shift, step: state.step,
    condition: (prompts) => conditioner.condition(prompts),
    nullCondition: (b) => conditioner.nullCondition(b),
    dispose: () => {
      model.dispose();
      if (o.text == null) text.dispose();
    },
  };
}
