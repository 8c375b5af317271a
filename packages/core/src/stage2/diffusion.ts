/**
 * The one condition-generic stage-2 training loop (docs/method.md §2.2):
 * flow matching of a DiT^DH on standardised latents from any ConditionedLatents source — each
 * sample's condition replaced by the source's null condition with probability `conditionDropout`
 * (CFG dropout), logit-normal t with the dimension shift, x- or v-prediction, base head and
 * optional REPA, AdamW or Muon, grad clip, EMA — through runTraining (checkpoints, resume, Ctrl-C).
 * Class labels (`trainStage2`), text (t2i) and navigation (navworld) all train here.
 */
import type { Tensor } from '../runtime/tf.js';
import { tf } from '../runtime/tf.js';
import { Rng } from '../runtime/rng.js';
import type { DiTModel } from '../dit/model.js';
import type { DiTConfig } from '../dit/config.js';
import { createDiT } from '../dit/create.js';
import { disposeCondition, selectCondition } from '../dit/condition.js';
import { drawTraining, flowMatchingLoss, lossForGrads, type TransportConfig } from '../transport/transport.js';
import { dropMask } from '../transport/dropout.js';
import { AdamW } from '../train/optim/adamw.js';
import { muonWithAdamW } from '../train/optim/muon.js';
import type { Optimizer } from '../train/optim/optimizer.js';
import { Ema } from '../train/ema.js';
import { EpochSampler } from '../train/sampler.js';
import { parseSchedule } from '../train/schedule.js';
import { clipGradNorm } from '../train/clip.js';
import { disposeGrads, valueAndGrads } from '../train/grads.js';
import { runTraining, type LogRecord } from '../train/loop.js';
import { resolveDiTConfig, resolveShift, resolveTransport, type DiffusionTrainConfig } from './config.js';
import type { ConditionedLatents } from './source.js';
import { STAGE2_MODULE } from './run.js';

/** Muon keeps embeddings, tokens and output layers on AdamW (as the reference does). */
const ADAMW_ONLY = /(^|\.)(s_embedder|x_embedder|t_embedder|y_embedder|ctx_embedder|final_layer|base_final_layer|repa_projector)\./;

/** The optimiser of a config over the model's trainable parameters. */
export function makeStage2Optimizer(cfg: Pick<DiffusionTrainConfig, 'optimizer'>, model: DiTModel): Optimizer {
  const o = cfg.optimizer;
  const params = model.namedParameters().filter(([, v]) => v.trainable);
  if (o.name === 'adamw') return new AdamW(params, { lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weightDecay });
  return muonWithAdamW(params, { lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weightDecay, momentum: o.momentum, adamw: (n) => ADAMW_ONLY.test(n) });
}

/** EMA decay at 0-based step t: min(decay, (1 + t)/(10 + t)) with warm-up. */
export function emaDecayAt(decay: number, step: number, warmup: boolean): number {
  return warmup ? Math.min(decay, (1 + step) / (10 + step)) : decay;
}

/** What a diffusion run resolved before training: the DiT config, the objective and the sampling shift. */
export interface DiffusionPlan {
  dit: DiTConfig;
  transport: TransportConfig;
  shift: number;
}

/** Resolve a config against a source (throws naming the field: width < channels, unknown condition kind …). */
export function planDiffusion(cfg: DiffusionTrainConfig, source: Pick<ConditionedLatents, 'grid' | 'channels' | 'condition'>): DiffusionPlan {
  const latent = { grid: source.grid, channels: source.channels };
  const dit = resolveDiTConfig(cfg, latent, source.condition, `stage-2 model (latent ${source.grid.join('×')}×${source.channels}, condition ${source.condition.kind})`);
  const prediction = dit.prediction ?? (dit.arch === 'raev2' ? 'x' : 'velocity');
  return { dit, transport: resolveTransport(cfg, latent, prediction), shift: resolveShift(cfg, latent) };
}

export interface DiffusionRunOptions {
  /** As runTraining: true (default) resumes from `out`'s latest checkpoint, a path from that one, false refuses existing checkpoints. */
  resume?: boolean | string;
  handleSignals?: boolean;
  /** Stop after this step and checkpoint (the schedule still spans every step; the same run without it continues). */
  stopAt?: number;
  onLog?: (r: LogRecord) => void;
  /** The plan (default planDiffusion(cfg, source)). */
  plan?: DiffusionPlan;
  /** What the checkpoint records as its config and compares on resume (default {config, dit}). */
  runConfig?: unknown;
  /** Dotted config paths that may change on resume. */
  configIgnore?: readonly string[];
  /** Called once the model is built, before training. */
  onStart?: (info: { plan: DiffusionPlan; parameters: number; totalSteps: number; stepsPerEpoch: number }) => void;
  /** Called once, before the first step of this process, with the step training (re)starts from. */
  onResume?: (step: number) => void;
  /**
   * Periodic work on the EMA weights (sample grids, generation metrics): after step `step` (1-based
   * count of steps done) when `due(step, totalSteps)`, `run` gets the model with the EMA weights swapped in.
   */
  periodic?: { due(step: number, totalSteps: number): boolean; run(step: number, model: DiTModel, totalSteps: number): Promise<void> };
}

export interface DiffusionResult {
  dir: string;
  step: number;
  totalSteps: number;
  interrupted: boolean;
  checkpoint?: string;
  plan: DiffusionPlan;
}

/** Train (or resume) a DiT^DH on `source` with `cfg`; see the file comment. Checkpoints hold the model as module "dit". */
export async function trainDiffusion(cfg: DiffusionTrainConfig, source: ConditionedLatents, opts: DiffusionRunOptions = {}): Promise<DiffusionResult> {
  const plan = opts.plan ?? planDiffusion(cfg, source);
  const { transport } = plan;
  if (cfg.batchSize > source.size) throw new Error(`batchSize ${cfg.batchSize} is larger than the ${source.size} training examples`);
  const model = createDiT(plan.dit, cfg.seed);
  const optimizer = makeStage2Optimizer(cfg, model);
  const ema = new Ema(model);
  try {
    const params = model.namedParameters().filter(([, v]) => v.trainable);
    const sampler = new EpochSampler(source.size, cfg.batchSize);
    const totalSteps = cfg.steps ?? Math.max(1, Math.round(cfg.epochs * sampler.stepsPerEpoch));
    opts.onStart?.({ plan, parameters: model.numParameters(), totalSteps, stepsPerEpoch: sampler.stepsPerEpoch });
    const s = cfg.schedule;
    const schedule = parseSchedule(s.kind === 'constant' ? { kind: 'constant', lr: cfg.optimizer.lr, warmupSteps: s.warmupSteps } : { kind: s.kind, lr: cfg.optimizer.lr, warmupSteps: Math.min(s.warmupSteps, totalSteps), totalSteps, finalLr: s.finalLr }, 'stage-2 lr schedule');
    const useRepa = cfg.model.repa != null;
    let started = false;

    const periodic = async (step: number) => {
      const p = opts.periodic;
      if (p == null || !p.due(step, totalSteps)) return;
      ema.swap(); // evaluate the EMA weights, as upstream samples
      try {
        await p.run(step, model, totalSteps);
      } finally {
        ema.swap();
      }
    };

    const result = await runTraining({
      dir: cfg.out,
      totalSteps,
      checkpointEvery: cfg.checkpointEvery,
      logEvery: cfg.logEvery,
      keep: cfg.keep,
      modules: { [STAGE2_MODULE]: model },
      optimizer,
      ema,
      rng: new Rng([cfg.seed, 0x5eed, 2, 3]),
      config: opts.runConfig ?? { config: cfg, dit: plan.dit },
      configIgnore: opts.configIgnore,
      schedule,
      resume: opts.resume ?? true,
      label: 'stage2 train',
      handleSignals: opts.handleSignals,
      stopAt: opts.stopAt,
      onLog: opts.onLog,
      step: async (ctx) => {
        if (!started) {
          opts.onResume?.(ctx.step);
          started = true;
        }
        const idx = sampler.next(ctx);
        const { x, cond } = source.batch(idx, ctx.rng);
        const b = x.shape[0] as number;
        const nullCond = source.nullCondition(b);
        let y: ReturnType<typeof selectCondition>;
        try {
          y = selectCondition(dropMask(ctx.rng, b, cfg.conditionDropout).map((d) => !d), cond, nullCond);
        } finally {
          disposeCondition(cond);
          disposeCondition(nullCond);
        }
        const draw = drawTraining(ctx.rng, x.shape, transport);
        const terms: Record<string, number> = {};
        let value: number, grads: Map<string, Tensor>;
        try {
          ({ value, grads } = valueAndGrads(() => lossForGrads(flowMatchingLoss(model, x, y, draw, transport, useRepa ? { repaTarget: x } : {}), terms), params));
        } finally {
          tf.dispose([x, draw.t, draw.noise]);
          disposeCondition(y);
        }
        const scalars: Record<string, number> = { loss: value, ...terms };
        if (cfg.gradClip != null) scalars.gradNorm = clipGradNorm(grads, cfg.gradClip);
        optimizer.step(grads);
        disposeGrads(grads);
        ema.update(emaDecayAt(cfg.ema, ctx.step, cfg.emaWarmup));
        await periodic(ctx.step + 1);
        return scalars;
      },
    });
    return { dir: cfg.out, step: result.step, totalSteps, interrupted: result.interrupted, checkpoint: result.checkpoint, plan };
  } finally {
    model.dispose();
    optimizer.dispose();
    ema.dispose();
  }
}
