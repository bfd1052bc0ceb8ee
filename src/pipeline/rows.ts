import type { Prng } from '../nn/prng.js';
import type { Standardization } from './standardize.js';

/**
 * What the training loop pulls its rows from, one epoch at a time, a batch at a time: a data set
 * held in memory, or an Arrow source streamed from disk (rows.ts, streamRows.ts). The loop asks
 * for a batch only when an input slot is free, so however fast the source, at most a fixed
 * number of batches are in memory.
 */
export interface TrainingRows {
  /** Where the rows come from, for messages. */
  file: string;
  featureNames: string[];
  labelName: string;
  /** Number of classes, ≥ 2. */
  classes: number;
  /** The label value of each class index, when known. */
  classLabels?: (number | boolean | string)[];
  /** Training rows per epoch, when known before the first epoch (not for a one-pass stream). */
  rows?: number;
  /** Mean and standard deviation per feature, when the rows are standardized on the way in. */
  standardize?: Standardization;
  /** Rows held out of training (--validation-split), evaluated after the last update. */
  holdout?: TrainingRows;
  /**
   * Opens epoch `epoch`. With `shuffle` the rows come in an order drawn from `rng`, a Prng of
   * the epoch's own (seeded from the run's seed and the epoch), so that epoch's order does not
   * depend on the ones before and a resumed run reads what the uninterrupted one read;
   * otherwise in the source's order.
   */
  epoch(epoch: number, rng: Prng, shuffle: boolean): RowReader;
}

export interface RowReader {
  /**
   * Copies up to `max` rows into `features` ((max, inputs) row-major) and `labels` (class
   * indices); resolves with the number copied, 0 once the epoch has no more.
   */
  fill(features: Float32Array, labels: Float32Array, max: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Whether global row `row` is held out for validation: a hash of (row, seed), so the split is
 * the same whatever the batch order, the shuffle or the worker count, and needs no pass ahead.
 */
export function heldOut(row: number, seed: number, fraction: number): boolean {
  if (fraction <= 0) return false;
  let h = Math.imul(row ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(seed, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296 < fraction;
}
