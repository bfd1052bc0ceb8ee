import { ConfigError } from '../errors.js';
import { KERNELS_NAMES, type KernelsName } from '../kernels/kernels.js';
import { sgd, type OptimizerSpec } from '../nn/optimizers.js';
import { checkSchedule, type LrSchedule } from '../nn/schedules.js';
import type { TrainingPool } from '../workers/pool.js';
import type { Dataset } from './dataset.js';
import type { TrainingRows } from './rows.js';
import type { TrainState } from './trainState.js';

/**
 * What fit() and train() take, as Keras and PyTorch name things, and its check at the boundary:
 * every option is validated once here, with a message that carries the value.
 */
export interface FitOptions {
  /** Passes over the training data; 100, the seed's. */
  epochs?: number;
  /** Rows per step, or 'full' for the whole data set per step (the seed's recipe; Keras defaults to 32). */
  batchSize?: number | 'full';
  /** sgd({ learningRate: 0.01 }) unless given. */
  optimizer?: OptimizerSpec;
  /** Seeds the shuffle of rows between epochs. */
  seed?: number;
  /** Rows per micro-shard, each with its own gradient slot; fixed, never derived from the worker count. */
  microBatch?: number;
  /** Evaluated once after the last update, for the end event's testLoss and testAccuracy. */
  validationData?: Dataset | TrainingRows;
  /** Stops training after the current step. */
  signal?: AbortSignal;
  /**
   * Threads computing the steps: a number, or 'inline' for the calling thread. By default a
   * step small enough to be faster inline (the seed's) runs inline, others on
   * os.availableParallelism() workers. The weights are bit-identical either way.
   */
  workers?: number | 'inline';
  /** A pool to run on, left open afterwards (see createPool); `workers` is then the pool's. */
  pool?: TrainingPool;
  /**
   * 'sync' (default): averaged, reproducible steps. 'hogwild' (Recht et al. 2011): each
   * micro-shard's gradient is applied at once to the shared weights without locks; faster on
   * many cores, not reproducible, and a failed step may leave a mix of updates.
   */
  mode?: 'sync' | 'hogwild';
  /**
   * 'wasm' (default): the WebAssembly SIMD kernels, or the TypeScript ones after a warning where
   * the engine lacks SIMD. 'ts': the readable TypeScript reference kernels, for comparisons.
   */
  kernels?: KernelsName;
  /**
   * Scale the averaged gradient down to this global L2 norm over all learned parameters when it
   * is larger (torch.nn.utils.clip_grad_norm_).
   */
  clipNorm?: number;
  /** Clamp each averaged gradient to ±clipValue (torch.nn.utils.clip_grad_value_). */
  clipValue?: number;
  /** How the learning rate changes over the run (constant by default). */
  lrSchedule?: LrSchedule;
  /**
   * Keras's EarlyStopping(monitor='val_loss', restore_best_weights=True): stop once the
   * validation loss (of the held-out rows, else of validationData) has not improved by more
   * than minDelta for `patience` epochs, and end with the weights of the best epoch.
   */
  earlyStopping?: { patience: number; minDelta?: number };
  /**
   * Hands the run's state to `save` every `everyEpochs` epochs or `everySteps` steps, between
   * two steps (training waits for it), so that `resume` can go on from there exactly.
   */
  checkpoint?: { everyEpochs?: number; everySteps?: number; save(state: TrainState): Promise<void> };
  /** Goes on from a checkpoint's state, with the options the run had: the result is the uninterrupted run's. */
  resume?: TrainState;
  /** Called after every step: for progress bars. */
  onStep?(progress: StepProgress): void;
}

/** Where a run is, after a step. */
export interface StepProgress {
  epoch: number;
  epochs: number;
  /** Steps and rows done in this epoch; rows per epoch when known. */
  step: number;
  rows: number;
  epochRows?: number;
  /** Mean loss of the epoch's steps so far. */
  loss: number;
}

/**
 * Rows per micro-shard. Small enough that a batch of 256 gives four shards to spread over the
 * workers, large enough that the GEMMs run at full speed (the seed's time is the same from 32
 * to 800) and the gradient slots (one parameter vector each) stay few.
 */
export const DEFAULT_MICRO_BATCH = 64;
/** Steps under this many flops run inline by default: a pool's wake-ups cost more than they save. */
export const INLINE_MAX_FLOPS = 20e6;

export interface Resolved {
  epochs: number;
  batchRows: number;
  /** Reshuffle each epoch: whenever a batch is smaller than the data. */
  shuffle: boolean;
  optimizer: OptimizerSpec;
  seed: number;
  microBatch: number;
  kernels: KernelsName;
  clipNorm: number | undefined;
  clipValue: number;
  lrSchedule: LrSchedule | undefined;
  earlyStopping: { patience: number; minDelta: number } | undefined;
}

export function resolve(data: TrainingRows, o: FitOptions): Resolved {
  const epochs = o.epochs ?? 100;
  if (!Number.isInteger(epochs) || epochs < 1) throw new ConfigError('E_CONFIG', `epochs must be a positive integer (got ${epochs})`);
  const batch = o.batchSize ?? 'full';
  if (batch !== 'full' && (!Number.isInteger(batch) || batch < 1)) {
    throw new ConfigError('E_CONFIG', `batchSize must be a positive integer or "full" (got ${batch})`);
  }
  if (batch === 'full' && data.rows === undefined) {
    throw new ConfigError('E_CONFIG', `${data.file}: a full batch needs the number of rows, which a one-pass stream does not know; give a batch size`);
  }
  const microBatch = o.microBatch ?? DEFAULT_MICRO_BATCH;
  if (!Number.isInteger(microBatch) || microBatch < 1) throw new ConfigError('E_CONFIG', `microBatch must be a positive integer (got ${microBatch})`);
  const seed = o.seed ?? 42;
  if (!Number.isInteger(seed)) throw new ConfigError('E_CONFIG', `seed must be an integer (got ${seed})`);
  const kernels = o.kernels ?? 'wasm';
  if (!KERNELS_NAMES.includes(kernels)) throw new ConfigError('E_CONFIG', `kernels must be one of ${KERNELS_NAMES.join(', ')} (got ${JSON.stringify(kernels)})`);
  const positive = (name: string, v: number | undefined): void => {
    if (v !== undefined && !(v > 0 && Number.isFinite(v))) throw new ConfigError('E_CONFIG', `${name} must be a positive number (got ${v})`);
  };
  positive('clipNorm', o.clipNorm);
  positive('clipValue', o.clipValue);
  const es = o.earlyStopping;
  if (es !== undefined) {
    if (!(Number.isInteger(es.patience) && es.patience >= 1)) throw new ConfigError('E_CONFIG', `earlyStopping.patience must be an integer >= 1 (got ${es.patience})`);
    if (es.minDelta !== undefined && !(es.minDelta >= 0)) throw new ConfigError('E_CONFIG', `earlyStopping.minDelta must be >= 0 (got ${es.minDelta})`);
    if (o.validationData === undefined && data.holdout === undefined) {
      throw new ConfigError('E_CONFIG', 'early stopping watches a validation loss: give validation data (--test) or a validation split');
    }
  }
  const cp = o.checkpoint;
  if (cp !== undefined) {
    const every = (name: string, v: number | undefined): void => {
      if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new ConfigError('E_CONFIG', `checkpoint.${name} must be an integer >= 1 (got ${v})`);
    };
    every('everyEpochs', cp.everyEpochs);
    every('everySteps', cp.everySteps);
  }
  const rows = data.rows ?? Infinity;
  return {
    epochs, seed, microBatch, kernels,
    clipNorm: o.clipNorm, clipValue: o.clipValue ?? Infinity,
    lrSchedule: o.lrSchedule === undefined ? undefined : checkSchedule(o.lrSchedule),
    earlyStopping: es === undefined ? undefined : { patience: es.patience, minDelta: es.minDelta ?? 0 },
    batchRows: batch === 'full' ? rows : Math.min(batch, rows),
    shuffle: batch !== 'full' && batch < rows,
    optimizer: o.optimizer ?? sgd(),
  };
}
